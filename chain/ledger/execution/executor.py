"""Execute one transaction against a block's overlay: checks, signer resolution, operations, receipt."""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable, NamedTuple

from chain.contracts import encode_value
from chain.crypto import Address, Algorithm, CryptoError, PublicKey
from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, Rejection, ResultCode
from chain.ledger.execution.certificates import is_revoked
from chain.ledger.execution.context import BlockContext, TxContext
from chain.ledger.execution.handlers import contracts, data, events, identity, membership, settings as settings_handlers
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import demand_tx_permission, load, settings
from chain.ledger.model import EntityState, LedgerSettings, Participant, UserRecord
from chain.ledger.operations import (
    AddRootCertificate, ApproveContract, ApproveNodeChange, AuthorizeRoles, ConfigureRole, DeployContract, InvokeContract, PublishEvent,
    RegisterDataAccount, RegisterEventAccount, RegisterNode, RegisterParticipant, RegisterUser,
    RevokeCertificate, SetContractState, SetNodeState, SetParticipantState, SetUserState, UpdateLedgerSettings,
    UpgradeContract, WriteKV,
)
from chain.ledger.permissions import TxPermission
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction

log = logging.getLogger(__name__)

Handler = Callable[[Overlay, TxContext, Any], Any]

HANDLERS: dict[type, Handler] = {
    RegisterParticipant: identity.register_participant,
    SetParticipantState: identity.set_participant_state,
    RegisterUser: identity.register_user,
    SetUserState: identity.set_user_state,
    RegisterDataAccount: data.register_data_account,
    WriteKV: data.write_kv,
    ConfigureRole: identity.configure_role,
    AuthorizeRoles: identity.authorize_roles,
    RegisterEventAccount: events.register_event_account,
    PublishEvent: events.publish_event,
    DeployContract: contracts.deploy_contract,
    UpgradeContract: contracts.upgrade_contract,
    InvokeContract: contracts.invoke_contract,
    UpdateLedgerSettings: settings_handlers.update_ledger_settings,
    AddRootCertificate: identity.add_root_certificate,
    RevokeCertificate: identity.revoke_certificate,
    RegisterNode: identity.register_node,
    SetNodeState: identity.set_node_state,
    ApproveNodeChange: membership.approve_node_change,
    ApproveContract: contracts.approve_contract,
    SetContractState: contracts.set_contract_state,
}


class TxOutcome(NamedTuple):
    """Either a receipt (the transaction enters the block) or a rejection (it does not)."""

    receipt: Receipt | None
    rejection: Rejection | None


def check_static(tx: Transaction, ledger_id: bytes, conf: LedgerSettings, block: BlockContext, encoded_size: int) -> None:
    """Checks that need no state: ledger, limits, expiry window, signer key algorithms."""
    if tx.content.ledger_id != ledger_id:
        raise Rejection("the transaction is for another ledger", ResultCode.WRONG_LEDGER)
    if encoded_size > conf.max_tx_bytes:
        raise Rejection(f"transaction is {encoded_size} bytes; the limit is {conf.max_tx_bytes}", ResultCode.TOO_LARGE)
    if len(tx.content.operations) > conf.max_ops_per_tx:
        raise Rejection(f"{len(tx.content.operations)} operations; the limit is {conf.max_ops_per_tx}", ResultCode.TOO_LARGE)
    if len(tx.endorsements) > conf.max_endorsements:
        raise Rejection(f"{len(tx.endorsements)} endorsements; the limit is {conf.max_endorsements}", ResultCode.TOO_LARGE)
    if tx.content.expiry_height < block.height:
        raise Rejection(f"the transaction expired at height {tx.content.expiry_height}", ResultCode.EXPIRED)
    if tx.content.expiry_height > block.height + conf.max_tx_ttl_blocks:
        raise Rejection(
            f"expiry_height {tx.content.expiry_height} is more than {conf.max_tx_ttl_blocks} blocks ahead", ResultCode.MALFORMED
        )
    keys = [e.public_key for e in tx.endorsements]
    if len(keys) > 1 and len(set(keys)) != len(keys):
        raise Rejection("the same key endorses twice", ResultCode.MALFORMED)
    prefix = block.signature_prefix
    for key in keys:
        if key[:2] != prefix:
            raise Rejection(f"every endorsement must use this ledger's {block.suite.signature_algorithm.name} keys",
                            ResultCode.BAD_SIGNATURE)


@functools.lru_cache(maxsize=65_536)
def signer_address(public_key: bytes, hash_algorithm: Algorithm) -> bytes:
    """Address bytes of an encoded public key, memoised: a pure function, and the same signers sign block after block."""
    return Address.of(PublicKey.decode(public_key), hash_algorithm).encode()


def resolve_signers(state: Overlay, tx: Transaction, block: BlockContext) -> tuple[UserRecord, ...]:
    """The registered, active users behind the endorsements, at this block's height and time."""
    signers = []
    for endorsement in tx.endorsements:
        try:
            address = signer_address(endorsement.public_key, block.suite.hash_algorithm)
        except CryptoError as exc:
            raise Rejection(f"endorsement key is invalid: {exc}", ResultCode.BAD_SIGNATURE) from None
        user = load(state, ns.user_key(address), UserRecord)
        if user is None or user.public_key != endorsement.public_key:
            raise Rejection(f"signer {Address.decode(address)} is not a registered user", ResultCode.UNKNOWN_SIGNER)
        problem = _signer_problem(state, user, block)
        if problem is not None:
            raise Rejection(f"signer {Address.decode(address)} {problem}", ResultCode.SIGNER_NOT_ACTIVE)
        signers.append(user)
    return tuple(signers)


def _signer_problem(state: Overlay, user: UserRecord, block: BlockContext) -> str | None:
    """Why a registered user may not sign at this block, or None."""
    if user.state is not EntityState.NORMAL:
        return f"is {user.state.name}"
    participant = load(state, ns.participant_key(user.participant), Participant)
    if participant is None or participant.state is not EntityState.NORMAL:
        return f"belongs to participant {user.participant!r}, which is not active"
    facts = user.facts
    if is_revoked(state, facts.issuer_fingerprint, facts.serial):
        return "has a revoked certificate"
    if not facts.not_before_ms <= block.timestamp_ms <= facts.not_after_ms:
        return "has a certificate that is not valid at the block time"
    return None


def execute_transaction(
    block_state: Overlay,
    tx: Transaction,
    *,
    ledger_id: bytes,
    block: BlockContext,
    index: int,
    encoded_size: int,
    signatures_valid: bool,
    duplicate: bool,
) -> TxOutcome:
    """Run one transaction; on success its writes are merged into block_state."""
    try:
        conf = settings(block_state)
        check_static(tx, ledger_id, conf, block, encoded_size)
        if duplicate:
            raise Rejection("this transaction is already on the ledger", ResultCode.DUPLICATE)
        if not signatures_valid:
            raise Rejection("an endorsement signature does not verify", ResultCode.BAD_SIGNATURE)
        signers = resolve_signers(block_state, tx, block)
        ctx = TxContext(block, tx.hash, signers, conf)
        return run_operations(block_state, tx, ctx, index)
    except Rejection as rejection:
        return TxOutcome(None, rejection)


def run_operations(block_state: Overlay, tx: Transaction, ctx: TxContext, index: int) -> TxOutcome:
    """Execute the operations in a child overlay, merging it only on success."""
    tx_state = block_state.child()
    ops = tx.content.operations
    invokes = 0
    for op in ops:
        if isinstance(op, InvokeContract):
            invokes += 1
    if invokes < len(ops):
        demand_tx_permission(tx_state, ctx, TxPermission.DIRECT_OPERATION)
    if invokes:
        demand_tx_permission(tx_state, ctx, TxPermission.CONTRACT_OPERATION)
    results: list[object] = []
    for i, op in enumerate(ops):
        try:
            result = HANDLERS[type(op)](tx_state, ctx, op)
            if result is not None:
                results.append(result)
        except ExecutionFailure as failure:
            return TxOutcome(Receipt(tx.hash, ctx.block.height, index, int(failure.result), str(failure), i, b""), None)
        except Rejection:
            raise
        except Exception as exc:  # a bug must not halt the chain; it fails the same way on every node
            log.exception("operation %d of %s failed unexpectedly", i, tx.hash.hex())
            message = f"internal error in {type(op).__name__}: {type(exc).__name__}"
            return TxOutcome(Receipt(tx.hash, ctx.block.height, index, int(ResultCode.INTERNAL_ERROR), message, i, b""), None)
    tx_state.merge_into(block_state)
    encoded = encode_value(results) if results else b""
    return TxOutcome(Receipt(tx.hash, ctx.block.height, index, int(ResultCode.SUCCESS), "", None, encoded), None)
