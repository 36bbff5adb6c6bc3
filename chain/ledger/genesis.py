"""Genesis: the operations every founding node executes identically to create block 0."""
from __future__ import annotations

from dataclasses import dataclass, field

from chain.ledger.model import LedgerSettings, Role
from chain.ledger.operations import (
    AddRootCertificate, ConfigureRole, Operation, RegisterNode, RegisterParticipant, RegisterUser, UpdateLedgerSettings,
)
from chain.ledger.permissions import ALL_LEDGER_PERMISSIONS, ALL_TX_PERMISSIONS, LedgerPermission, RolePolicy, TxPermission

ADMIN_ROLE = Role("ADMIN", int(ALL_LEDGER_PERMISSIONS), int(ALL_TX_PERMISSIONS))
MEMBER_ROLE = Role(
    "MEMBER",
    int(LedgerPermission.REGISTER_DATA_ACCOUNT | LedgerPermission.REGISTER_EVENT_ACCOUNT),
    int(ALL_TX_PERMISSIONS),
)
READER_ROLE = Role("READER", int(LedgerPermission.READ_ANY_DATA_ACCOUNT), int(TxPermission(0)))


@dataclass(frozen=True)
class GenesisUser:
    """A founding user: certificate (DER) and roles."""

    certificate: bytes
    roles: tuple[str, ...]
    policy: RolePolicy = RolePolicy.UNION


@dataclass(frozen=True)
class GenesisNode:
    """A founding validator: node certificate (DER) and encoded ledger public key."""

    certificate: bytes
    public_key: bytes


@dataclass(frozen=True)
class GenesisConfig:
    """Everything block 0 contains."""

    settings: LedgerSettings
    timestamp_ms: int
    roots: tuple[bytes, ...]
    participants: tuple[tuple[str, bytes], ...]
    nodes: tuple[GenesisNode, ...]
    users: tuple[GenesisUser, ...]
    roles: tuple[Role, ...] = field(default=(ADMIN_ROLE, MEMBER_ROLE, READER_ROLE))

    def operations(self) -> list[Operation]:
        """The genesis operations, in the order they execute."""
        ops: list[Operation] = [UpdateLedgerSettings(self.settings)]
        ops += [AddRootCertificate(der) for der in self.roots]
        ops += [ConfigureRole(r.name, r.ledger_permissions, r.tx_permissions) for r in self.roles]
        ops += [RegisterParticipant(name, der) for name, der in self.participants]
        ops += [RegisterNode(n.certificate, n.public_key) for n in self.nodes]
        ops += [RegisterUser(u.certificate, u.roles, u.policy) for u in self.users]
        return ops
