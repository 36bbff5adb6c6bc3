"""The ledger model: the records stored under each state namespace (array-encoded, see docs/ledger.md)."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from chain.ledger.permissions import RolePolicy


class EntityState(enum.IntEnum):
    """Lifecycle of participants, nodes, users and contracts."""

    NORMAL = 0
    FROZEN = 1
    REVOKED = 2


@dataclass(frozen=True)
class LedgerSettings:
    """Ledger-wide settings fixed at genesis and changed only by UPDATE_LEDGER_SETTINGS."""

    name: str
    suite: str
    max_tx_bytes: int = 1 << 20
    max_ops_per_tx: int = 256
    max_endorsements: int = 16
    max_block_txs: int = 5000
    max_tx_ttl_blocks: int = 1000
    block_interval_ms: int = 200
    default_role_policy: RolePolicy = RolePolicy.UNION
    validator_change_delay: int = 2


@dataclass(frozen=True)
class Participant:
    """A member organisation: its intermediate CA certificate (DER) and state."""

    name: str
    ca_certificate: bytes
    state: EntityState = EntityState.NORMAL


@dataclass(frozen=True)
class CertificateFacts:
    """What signer checks need from a certificate, extracted once at registration."""

    issuer_fingerprint: bytes
    serial: bytes
    not_before_ms: int
    not_after_ms: int
    role: str


@dataclass(frozen=True)
class NodeRecord:
    """A consensus node: organisation, ledger public key (encoded), certificate, state."""

    address: bytes
    participant: str
    public_key: bytes
    certificate: bytes
    facts: CertificateFacts
    state: EntityState = EntityState.NORMAL


@dataclass(frozen=True)
class UserRecord:
    """A user identity registered from its certificate, with roles."""

    address: bytes
    participant: str
    public_key: bytes
    certificate: bytes
    facts: CertificateFacts
    roles: tuple[str, ...] = ()
    policy: RolePolicy = RolePolicy.UNION
    state: EntityState = EntityState.NORMAL


@dataclass(frozen=True)
class Role:
    """A named set of ledger and transaction permissions."""

    name: str
    ledger_permissions: int
    tx_permissions: int


@dataclass(frozen=True)
class DataAccount:
    """A KV account: owners may write; readers (roles) may read; empty readers means public."""

    name: str
    owners: tuple[bytes, ...]
    readers: tuple[str, ...] = ()
    created_height: int = 0


@dataclass(frozen=True)
class DataEntry:
    """One key's current value; version counts writes from 0."""

    value: bytes
    version: int
    writer: bytes
    height: int
    tx_hash: bytes


@dataclass(frozen=True)
class EventAccount:
    """An event account: owners may publish."""

    name: str
    owners: tuple[bytes, ...]
    created_height: int = 0


@dataclass(frozen=True)
class TopicHead:
    """The next sequence number of a topic."""

    next_sequence: int


@dataclass(frozen=True)
class Event:
    """One published event."""

    account: str
    topic: str
    sequence: int
    content: bytes
    publisher: bytes
    height: int
    tx_hash: bytes


@dataclass(frozen=True)
class ContractPolicy:
    """Endorsement policy of a contract: `threshold` of the named participants must approve each version's IR hash."""

    threshold: int
    participants: tuple[str, ...]


@dataclass(frozen=True)
class ContractAccount:
    """A contract: current version and code hash; older versions stay under their own keys."""

    name: str
    version: int
    code_hash: bytes
    owners: tuple[bytes, ...]
    state: EntityState = EntityState.NORMAL
    policy: ContractPolicy = ContractPolicy(1, ())


@dataclass(frozen=True)
class ContractApprovals:
    """Participants that approved one version (by IR hash) of a contract, sorted."""

    participants: tuple[str, ...]


@dataclass(frozen=True)
class TrustedRoots:
    """The consortium root CA certificates (DER) every certificate must chain to."""

    certificates: tuple[bytes, ...]


@dataclass(frozen=True)
class RevokedCertificate:
    """A certificate revoked on chain: from `height` on, signatures by it are refused."""

    issuer_fingerprint: bytes
    serial: bytes
    reason: str
    height: int


@dataclass(frozen=True)
class MembershipChange:
    """A proposed change of one node's validator membership: pending until a quorum approves, then scheduled.

    `state` is the node's state once the change takes effect (NORMAL joins the
    validator set, FROZEN or REVOKED leaves it); `approvals` are participant
    names, sorted; `activation_height` is the first height the changed set
    certifies, None while the change awaits approvals.
    """

    address: bytes
    state: EntityState
    approvals: tuple[str, ...]
    activation_height: int | None = None

    @property
    def joins(self) -> bool:
        """True if the node becomes a validator, False if it stops being one."""
        return self.state is EntityState.NORMAL

    @property
    def scheduled(self) -> bool:
        """True once a quorum approved and the activation height is fixed."""
        return self.activation_height is not None


@dataclass(frozen=True)
class Membership:
    """The first height the current validator set certifies, and the open membership changes sorted by address."""

    since: int = 0
    changes: tuple[MembershipChange, ...] = ()
