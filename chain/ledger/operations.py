"""The standard ledger operation set: stable type codes and array-shaped parameters.

On the wire an operation is `[type_code, [param, ...]]`; the parameters are the
fields of the dataclass below, in order. docs/operations.md lists them with
encoded examples. Codes are stable and never reused.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Union

from chain.codec.schema import from_value, to_value
from chain.ledger.errors import Rejection, ResultCode
from chain.ledger.model import ContractPolicy, EntityState, LedgerSettings
from chain.ledger.permissions import RolePolicy


class OpType(enum.IntEnum):
    """Operation type codes."""

    REGISTER_PARTICIPANT = 1
    SET_PARTICIPANT_STATE = 2
    REGISTER_USER = 3
    SET_USER_STATE = 4
    REGISTER_DATA_ACCOUNT = 5
    WRITE_KV = 6
    CONFIGURE_ROLE = 7
    AUTHORIZE_ROLES = 8
    REGISTER_EVENT_ACCOUNT = 9
    PUBLISH_EVENT = 10
    DEPLOY_CONTRACT = 11
    UPGRADE_CONTRACT = 12
    INVOKE_CONTRACT = 13
    UPDATE_LEDGER_SETTINGS = 14
    ADD_ROOT_CERTIFICATE = 15
    REVOKE_CERTIFICATE = 16
    REGISTER_NODE = 17
    SET_NODE_STATE = 18
    APPROVE_NODE_CHANGE = 19
    APPROVE_CONTRACT = 20
    SET_CONTRACT_STATE = 21


@dataclass(frozen=True)
class RegisterParticipant:
    """Admit a member organisation with its intermediate CA certificate (DER)."""

    TYPE: ClassVar[OpType] = OpType.REGISTER_PARTICIPANT
    name: str
    ca_certificate: bytes


@dataclass(frozen=True)
class SetParticipantState:
    """Freeze, unfreeze or revoke a member organisation."""

    TYPE: ClassVar[OpType] = OpType.SET_PARTICIPANT_STATE
    name: str
    state: EntityState


@dataclass(frozen=True)
class RegisterUser:
    """Register a user from its certificate (DER), with initial roles."""

    TYPE: ClassVar[OpType] = OpType.REGISTER_USER
    certificate: bytes
    roles: tuple[str, ...]
    policy: RolePolicy


@dataclass(frozen=True)
class SetUserState:
    """Freeze, unfreeze or revoke a user (address bytes)."""

    TYPE: ClassVar[OpType] = OpType.SET_USER_STATE
    address: bytes
    state: EntityState


@dataclass(frozen=True)
class RegisterDataAccount:
    """Create a KV account owned by the transaction's endorsers; readers empty = public."""

    TYPE: ClassVar[OpType] = OpType.REGISTER_DATA_ACCOUNT
    name: str
    readers: tuple[str, ...]


@dataclass(frozen=True)
class WriteKV:
    """Write a key; expected_version -1 = must be new, None = no check, n = must be at version n."""

    TYPE: ClassVar[OpType] = OpType.WRITE_KV
    account: str
    key: str
    value: bytes
    expected_version: int | None


@dataclass(frozen=True)
class ConfigureRole:
    """Create or replace a role's permission masks."""

    TYPE: ClassVar[OpType] = OpType.CONFIGURE_ROLE
    name: str
    ledger_permissions: int
    tx_permissions: int


@dataclass(frozen=True)
class AuthorizeRoles:
    """Grant and revoke roles of a user and set its role policy."""

    TYPE: ClassVar[OpType] = OpType.AUTHORIZE_ROLES
    address: bytes
    grant: tuple[str, ...]
    revoke: tuple[str, ...]
    policy: RolePolicy


@dataclass(frozen=True)
class RegisterEventAccount:
    """Create an event account owned by the transaction's endorsers."""

    TYPE: ClassVar[OpType] = OpType.REGISTER_EVENT_ACCOUNT
    name: str


@dataclass(frozen=True)
class PublishEvent:
    """Append an event to a topic; expected_sequence None = append anywhere."""

    TYPE: ClassVar[OpType] = OpType.PUBLISH_EVENT
    account: str
    topic: str
    content: bytes
    expected_sequence: int | None


@dataclass(frozen=True)
class DeployContract:
    """Deploy a contract's intermediate code as version 0 under an endorsement policy (None: a majority of the participants)."""

    TYPE: ClassVar[OpType] = OpType.DEPLOY_CONTRACT
    name: str
    code: bytes
    policy: ContractPolicy | None = None


@dataclass(frozen=True)
class UpgradeContract:
    """Deploy the next version of a contract."""

    TYPE: ClassVar[OpType] = OpType.UPGRADE_CONTRACT
    name: str
    code: bytes


@dataclass(frozen=True)
class InvokeContract:
    """Call a contract function with canonical-CBOR arguments."""

    TYPE: ClassVar[OpType] = OpType.INVOKE_CONTRACT
    name: str
    function: str
    args: bytes


@dataclass(frozen=True)
class UpdateLedgerSettings:
    """Replace the ledger settings (the suite can never change)."""

    TYPE: ClassVar[OpType] = OpType.UPDATE_LEDGER_SETTINGS
    settings: LedgerSettings


@dataclass(frozen=True)
class AddRootCertificate:
    """Trust another consortium root CA certificate (DER)."""

    TYPE: ClassVar[OpType] = OpType.ADD_ROOT_CERTIFICATE
    certificate: bytes


@dataclass(frozen=True)
class RevokeCertificate:
    """Revoke a certificate by issuer fingerprint (suite hash of the issuer's DER) and serial (20 bytes, big-endian)."""

    TYPE: ClassVar[OpType] = OpType.REVOKE_CERTIFICATE
    issuer_fingerprint: bytes
    serial: bytes
    reason: str


@dataclass(frozen=True)
class RegisterNode:
    """Register a consensus node from its certificate (DER) and ledger public key (encoded); outside genesis it proposes it joins."""

    TYPE: ClassVar[OpType] = OpType.REGISTER_NODE
    certificate: bytes
    public_key: bytes


@dataclass(frozen=True)
class SetNodeState:
    """Activate, freeze or revoke a node (address bytes); a change of validator membership is proposed, not applied."""

    TYPE: ClassVar[OpType] = OpType.SET_NODE_STATE
    address: bytes
    state: EntityState


@dataclass(frozen=True)
class ApproveNodeChange:
    """Approve, for the endorsers' participants, the pending validator membership change of a node (address bytes)."""

    TYPE: ClassVar[OpType] = OpType.APPROVE_NODE_CHANGE
    address: bytes


@dataclass(frozen=True)
class ApproveContract:
    """Approve, for the endorsers' participants, a version of a contract by the hash of its IR."""

    TYPE: ClassVar[OpType] = OpType.APPROVE_CONTRACT
    name: str
    version: int
    code_hash: bytes


@dataclass(frozen=True)
class SetContractState:
    """Freeze or unfreeze a contract (a frozen contract cannot be invoked or called)."""

    TYPE: ClassVar[OpType] = OpType.SET_CONTRACT_STATE
    name: str
    state: EntityState


Operation = Union[
    RegisterParticipant, SetParticipantState, RegisterUser, SetUserState, RegisterDataAccount, WriteKV,
    ConfigureRole, AuthorizeRoles, RegisterEventAccount, PublishEvent, DeployContract, UpgradeContract,
    InvokeContract, UpdateLedgerSettings, AddRootCertificate, RevokeCertificate, RegisterNode, SetNodeState,
    ApproveNodeChange, ApproveContract, SetContractState,
]

OPERATION_CLASSES: dict[OpType, type] = {
    cls.TYPE: cls
    for cls in (
        RegisterParticipant, SetParticipantState, RegisterUser, SetUserState, RegisterDataAccount, WriteKV,
        ConfigureRole, AuthorizeRoles, RegisterEventAccount, PublishEvent, DeployContract, UpgradeContract,
        InvokeContract, UpdateLedgerSettings, AddRootCertificate, RevokeCertificate, RegisterNode, SetNodeState,
        ApproveNodeChange, ApproveContract, SetContractState,
    )
}


def operation_to_value(op: Operation) -> list[object]:
    """[type_code, [params...]]."""
    return [int(op.TYPE), to_value(op)]


def operation_from_value(value: object) -> Operation:
    """Parse [type_code, [params...]], refusing unknown codes and malformed parameters."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
        raise Rejection("an operation must be [type_code, params]", ResultCode.MALFORMED)
    try:
        cls = OPERATION_CLASSES[OpType(value[0])]
    except ValueError:
        raise Rejection(f"unknown operation type code {value[0]}", ResultCode.MALFORMED) from None
    from chain.codec import CodecError

    try:
        return from_value(cls, value[1])  # type: ignore[no-any-return]
    except CodecError as exc:
        raise Rejection(f"{cls.__name__}: {exc}", ResultCode.MALFORMED) from None
