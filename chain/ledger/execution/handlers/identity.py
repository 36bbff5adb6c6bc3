"""Participants, nodes, users, roles and certificates."""
from __future__ import annotations

from dataclasses import replace

from chain.ca import CAError, verify_chain
from chain.crypto import Address, CryptoError, PublicKey
from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, ResultCode
from chain.ledger.execution.certificates import (
    parse,
    trusted_roots,
    verify_member_certificate,
)
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.handlers.membership import is_validator, node_name, pending_change, propose_change, set_validator
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import check_name, demand, load, require, store
from chain.ledger.model import (
    EntityState,
    NodeRecord,
    Participant,
    RevokedCertificate,
    Role,
    TrustedRoots,
    UserRecord,
)
from chain.ledger.operations import (
    AddRootCertificate,
    AuthorizeRoles,
    ConfigureRole,
    RegisterNode,
    RegisterParticipant,
    RegisterUser,
    RevokeCertificate,
    SetNodeState,
    SetParticipantState,
    SetUserState,
)
from chain.ledger.permissions import ALL_LEDGER_PERMISSIONS, ALL_TX_PERMISSIONS, LedgerPermission

USER_ROLES = ("user", "admin", "gateway", "device")


def _address(ctx: TxContext, public_key: PublicKey) -> bytes:
    return Address.of(public_key, ctx.block.suite.hash_algorithm).encode()


def add_root_certificate(state: Overlay, ctx: TxContext, op: AddRootCertificate) -> None:
    """Trust another root CA (self-signed CA certificate of the ledger's suite)."""
    demand(state, ctx, LedgerPermission.MANAGE_CERTIFICATES, "adding a root certificate")
    cert = parse(op.certificate, "root certificate")
    if not cert.is_ca or not cert.is_self_issued:
        raise ExecutionFailure("a root certificate must be a self-issued CA certificate", ResultCode.CERTIFICATE_INVALID)
    try:
        verify_chain(cert, [], [cert], [], at=ctx.block.time, suite=ctx.block.suite)
    except CAError as exc:
        raise ExecutionFailure(f"root certificate: {exc}", ResultCode.CERTIFICATE_INVALID) from None
    roots = trusted_roots(state)
    if op.certificate in roots:
        raise ExecutionFailure("this root certificate is already trusted", ResultCode.ALREADY_EXISTS)
    store(state, ns.trusted_roots_key(), TrustedRoots(roots + (op.certificate,)))


def register_participant(state: Overlay, ctx: TxContext, op: RegisterParticipant) -> None:
    """Admit an organisation whose CA certificate chains to a trusted root and names it."""
    demand(state, ctx, LedgerPermission.MANAGE_PARTICIPANTS, "registering a participant")
    check_name(op.name, "participant name")
    if load(state, ns.participant_key(op.name), Participant) is not None:
        raise ExecutionFailure(f"participant {op.name!r} already exists", ResultCode.ALREADY_EXISTS)
    cert = parse(op.ca_certificate, "participant CA certificate")
    if not cert.is_ca:
        raise ExecutionFailure("a participant certificate must be a CA certificate", ResultCode.CERTIFICATE_INVALID)
    if cert.organisation != op.name:
        raise ExecutionFailure(
            f"the CA certificate is for organisation {cert.organisation!r}, not {op.name!r}", ResultCode.CERTIFICATE_INVALID
        )
    try:
        verify_chain(cert, [], trusted_roots(state), [], at=ctx.block.time, suite=ctx.block.suite)
    except CAError as exc:
        raise ExecutionFailure(f"participant CA certificate: {exc}", ResultCode.CERTIFICATE_INVALID) from None
    store(state, ns.participant_key(op.name), Participant(op.name, op.ca_certificate))


def set_participant_state(state: Overlay, ctx: TxContext, op: SetParticipantState) -> None:
    """Freeze, unfreeze or revoke an organisation (revoked is final)."""
    demand(state, ctx, LedgerPermission.MANAGE_PARTICIPANTS, "changing a participant's state")
    record = require(state, ns.participant_key(op.name), Participant, f"participant {op.name!r}")
    if record.state is EntityState.REVOKED:
        raise ExecutionFailure(f"participant {op.name!r} is revoked for good", ResultCode.INVALID_STATE)
    store(state, ns.participant_key(op.name), Participant(record.name, record.ca_certificate, op.state))


def _check_roles(state: Overlay, roles: tuple[str, ...]) -> None:
    for name in roles:
        if load(state, ns.role_key(name), Role) is None:
            raise ExecutionFailure(f"role {name!r} does not exist", ResultCode.NOT_FOUND)


def register_user(state: Overlay, ctx: TxContext, op: RegisterUser) -> None:
    """Register a user from a certificate issued by an active participant's CA."""
    demand(state, ctx, LedgerPermission.REGISTER_USER, "registering a user")
    cert, participant, facts = verify_member_certificate(state, ctx, op.certificate, USER_ROLES, "user certificate")
    _check_roles(state, op.roles)
    address = _address(ctx, cert.public_key)
    if load(state, ns.user_key(address), UserRecord) is not None:
        raise ExecutionFailure("a user with this key is already registered", ResultCode.ALREADY_EXISTS)
    record = UserRecord(address, participant.name, cert.public_key.encode(), op.certificate, facts, tuple(op.roles), op.policy)
    store(state, ns.user_key(address), record)


def set_user_state(state: Overlay, ctx: TxContext, op: SetUserState) -> None:
    """Freeze, unfreeze or revoke a user (revoked is final)."""
    demand(state, ctx, LedgerPermission.MANAGE_USERS, "changing a user's state")
    record = require(state, ns.user_key(op.address), UserRecord, "user")
    if record.state is EntityState.REVOKED:
        raise ExecutionFailure("this user is revoked for good", ResultCode.INVALID_STATE)
    store(state, ns.user_key(op.address), replace(record, state=op.state))


def configure_role(state: Overlay, ctx: TxContext, op: ConfigureRole) -> None:
    """Create or replace a role."""
    demand(state, ctx, LedgerPermission.CONFIGURE_ROLES, "configuring a role")
    check_name(op.name, "role name")
    if op.ledger_permissions & ~int(ALL_LEDGER_PERMISSIONS) or op.ledger_permissions < 0:
        raise ExecutionFailure("ledger_permissions has unknown bits", ResultCode.INVALID_ARGUMENT)
    if op.tx_permissions & ~int(ALL_TX_PERMISSIONS) or op.tx_permissions < 0:
        raise ExecutionFailure("tx_permissions has unknown bits", ResultCode.INVALID_ARGUMENT)
    store(state, ns.role_key(op.name), Role(op.name, op.ledger_permissions, op.tx_permissions))


def authorize_roles(state: Overlay, ctx: TxContext, op: AuthorizeRoles) -> None:
    """Grant and revoke a user's roles and set its policy."""
    demand(state, ctx, LedgerPermission.AUTHORIZE_USER_ROLES, "authorizing roles")
    record = require(state, ns.user_key(op.address), UserRecord, "user")
    _check_roles(state, op.grant)
    roles = [r for r in record.roles if r not in op.revoke]
    roles += [r for r in op.grant if r not in roles]
    store(state, ns.user_key(op.address), replace(record, roles=tuple(roles), policy=op.policy))


def revoke_certificate(state: Overlay, ctx: TxContext, op: RevokeCertificate) -> None:
    """Record a revocation: from this height on, signatures by that certificate are refused."""
    demand(state, ctx, LedgerPermission.MANAGE_CERTIFICATES, "revoking a certificate")
    if len(op.issuer_fingerprint) != 32 or len(op.serial) != 20:
        raise ExecutionFailure("issuer_fingerprint must be 32 bytes and serial 20 bytes", ResultCode.INVALID_ARGUMENT)
    key = ns.revoked_certificate_key(op.issuer_fingerprint, op.serial)
    if load(state, key, RevokedCertificate) is not None:
        raise ExecutionFailure("this certificate is already revoked", ResultCode.ALREADY_EXISTS)
    store(state, key, RevokedCertificate(op.issuer_fingerprint, op.serial, op.reason[:200], ctx.block.height))


def register_node(state: Overlay, ctx: TxContext, op: RegisterNode) -> None:
    """Register a consensus node from its node certificate; its ledger key is the certificate's key.

    At genesis the node is a validator at once. Later it is registered FROZEN
    and a join is proposed (see membership.py); it becomes NORMAL, a validator,
    when the join takes effect.
    """
    demand(state, ctx, LedgerPermission.MANAGE_NODES, "registering a node")
    cert, participant, facts = verify_member_certificate(state, ctx, op.certificate, ("node",), "node certificate")
    try:
        given = PublicKey.decode(op.public_key)
    except CryptoError as exc:
        raise ExecutionFailure(f"node public key: {exc}", ResultCode.INVALID_ARGUMENT) from None
    if given != cert.public_key:
        raise ExecutionFailure("the node public key differs from the certificate's key", ResultCode.INVALID_ARGUMENT)
    address = _address(ctx, given)
    if load(state, ns.node_key(address), NodeRecord) is not None:
        raise ExecutionFailure("this node is already registered", ResultCode.ALREADY_EXISTS)
    record = NodeRecord(address, participant.name, op.public_key, op.certificate, facts)
    if ctx.privileged:
        store(state, ns.node_key(address), record)
        set_validator(state, address, op.public_key, active=True)
        return
    store(state, ns.node_key(address), replace(record, state=EntityState.FROZEN))
    propose_change(state, ctx, record, EntityState.NORMAL)


def set_node_state(state: Overlay, ctx: TxContext, op: SetNodeState) -> None:
    """Activate, freeze or revoke a node; outside genesis a change of validator membership is proposed, not applied."""
    demand(state, ctx, LedgerPermission.MANAGE_NODES, "changing a node's state")
    record = require(state, ns.node_key(op.address), NodeRecord, "node")
    if record.state is EntityState.REVOKED:
        raise ExecutionFailure("this node is revoked for good", ResultCode.INVALID_STATE)
    if ctx.privileged:
        store(state, ns.node_key(op.address), replace(record, state=op.state))
        set_validator(state, record.address, record.public_key, active=op.state is EntityState.NORMAL)
        return
    if pending_change(state, op.address) is not None:
        raise ExecutionFailure(
            f"node {node_name(op.address)} already has a membership change pending or scheduled", ResultCode.ALREADY_EXISTS
        )
    if is_validator(state, op.address) != (op.state is EntityState.NORMAL):
        propose_change(state, ctx, record, op.state)
    else:
        store(state, ns.node_key(op.address), replace(record, state=op.state))
