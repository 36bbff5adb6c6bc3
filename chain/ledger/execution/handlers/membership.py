"""Validator membership: changes proposed by RegisterNode/SetNodeState, approved by a quorum of participants,
applied at a fixed later height.

A change is *pending* until the participants approving it reach
floor(2p/3)+1 of the p participants in state NORMAL; in the block h where that
happens it is *scheduled* for activation height H = h + validator_change_delay.
H is the first height whose commit certificate the changed set signs: the change
is applied at the end of the first block of height >= H-1 (inside that block, so
it is part of its state root and next_validators_hash). Genesis bypasses all of
this: its nodes are validators from height 0.
"""
from __future__ import annotations

from dataclasses import replace

from chain.crypto import Address, CryptoError
from chain.ledger import namespaces as ns
from chain.ledger.block import Validator, ValidatorSet
from chain.ledger.errors import ExecutionFailure, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import demand, endorsing_participants, load, settings, store
from chain.ledger.model import EntityState, Membership, MembershipChange, NodeRecord, Participant
from chain.ledger.operations import ApproveNodeChange
from chain.ledger.permissions import LedgerPermission


def node_name(address: bytes) -> str:
    """An address as text for messages (hex if it is not a well-formed address)."""
    try:
        return str(Address.decode(address))
    except (CryptoError, ValueError):
        return address.hex()


def quorum(participants: int) -> int:
    """Approvals needed among `participants` active participants: more than two thirds."""
    return participants * 2 // 3 + 1


def membership(state: Overlay) -> Membership:
    """The membership record (genesis has none: the genesis set, no changes)."""
    return load(state, ns.membership_key(), Membership) or Membership()


def pending_change(state: Overlay, address: bytes) -> MembershipChange | None:
    """The open (pending or scheduled) change of a node, or None."""
    return next((c for c in membership(state).changes if c.address == address), None)


def validator_set(state: Overlay) -> ValidatorSet:
    """The validator set record as this overlay sees it."""
    return load(state, ns.validators_key(), ValidatorSet) or ValidatorSet(())


def is_validator(state: Overlay, address: bytes) -> bool:
    """True if the node is in the current validator set."""
    return any(v.address == address for v in validator_set(state).validators)


def active_participants(state: Overlay) -> tuple[str, ...]:
    """Names of the participants in state NORMAL, sorted."""
    prefix = bytes([ns.Namespace.PARTICIPANT])
    names = []
    for key, _ in state.scan(prefix):
        record = load(state, key, Participant)
        if record is not None and record.state is EntityState.NORMAL:
            names.append(record.name)
    return tuple(sorted(names))


def set_validator(state: Overlay, address: bytes, public_key: bytes, active: bool) -> None:
    """Keep the validator set record (sorted by address) in step with node states."""
    members = {v.address: v for v in validator_set(state).validators}
    if active:
        members[address] = Validator(address, public_key)
    else:
        members.pop(address, None)
    if not members:
        raise ExecutionFailure("the last validator cannot be removed", ResultCode.INVALID_STATE)
    store(state, ns.validators_key(), ValidatorSet(tuple(members[a] for a in sorted(members))))


def _members_after(state: Overlay, changes: tuple[MembershipChange, ...]) -> set[bytes]:
    """Addresses of the validator set once every given change has taken effect."""
    members = {v.address for v in validator_set(state).validators}
    for change in changes:
        if change.joins:
            members.add(change.address)
        else:
            members.discard(change.address)
    return members


def _check_not_last(state: Overlay, change: MembershipChange) -> None:
    """Refuse a leave that would empty the set once every scheduled change (and this one) took effect."""
    scheduled = tuple(c for c in membership(state).changes if c.scheduled)
    if not change.joins and not _members_after(state, scheduled + (change,)):
        raise ExecutionFailure(
            f"the last validator cannot be removed: node {node_name(change.address)} would leave no validator",
            ResultCode.INVALID_STATE,
        )


def _save(state: Overlay, current: Membership, change: MembershipChange) -> None:
    """Store the membership record with `change` added or replaced (changes stay sorted by address)."""
    others = [c for c in current.changes if c.address != change.address]
    store(state, ns.membership_key(), replace(current, changes=tuple(sorted(others + [change], key=lambda c: c.address))))


def _schedule_if_approved(state: Overlay, ctx: TxContext, change: MembershipChange) -> MembershipChange:
    """The change scheduled at this height + validator_change_delay if its active approvals reach the quorum."""
    active = active_participants(state)
    votes = sum(1 for name in change.approvals if name in active)
    if votes < quorum(len(active)):
        return change
    _check_not_last(state, change)
    return replace(change, activation_height=ctx.block.height + settings(state).validator_change_delay)


def propose_change(state: Overlay, ctx: TxContext, record: NodeRecord, target: EntityState) -> None:
    """Open a join (target NORMAL) or leave change for a node, approved by the proposing endorsers' participants."""
    if pending_change(state, record.address) is not None:
        raise ExecutionFailure(
            f"node {node_name(record.address)} already has a membership change pending or scheduled", ResultCode.ALREADY_EXISTS
        )
    change = MembershipChange(record.address, target, endorsing_participants(state, ctx, LedgerPermission.MANAGE_NODES))
    _check_not_last(state, change)
    _save(state, membership(state), _schedule_if_approved(state, ctx, change))


def approve_node_change(state: Overlay, ctx: TxContext, op: ApproveNodeChange) -> None:
    """Add the endorsers' participants to a pending change's approvals and re-evaluate the quorum.

    Idempotent: a participant that already approved, or an approval of a change
    already scheduled, changes nothing (so concurrent or retried approvals do
    not fail). Re-approving still re-evaluates the quorum, which may have
    dropped since because participants were frozen or revoked.
    """
    demand(state, ctx, LedgerPermission.MANAGE_NODES, "approving a node membership change")
    change = pending_change(state, op.address)
    if change is None:
        raise ExecutionFailure(f"node {node_name(op.address)} has no pending membership change", ResultCode.NOT_FOUND)
    if change.scheduled:
        return
    approvers = endorsing_participants(state, ctx, LedgerPermission.MANAGE_NODES)
    approved = replace(change, approvals=tuple(sorted(set(change.approvals) | set(approvers))))
    updated = _schedule_if_approved(state, ctx, approved)
    if updated != change:
        _save(state, membership(state), updated)


def apply_due_changes(state: Overlay, height: int) -> tuple[MembershipChange, ...]:
    """At the end of block `height`: apply every scheduled change due by height + 1, in (activation height, address) order.

    The next block is then certified by the changed set, so the record's `since` becomes height + 1.
    """
    current = membership(state)
    due = sorted((c for c in current.changes if c.activation_height is not None and c.activation_height <= height + 1),
                 key=lambda c: (c.activation_height or 0, c.address))
    if not due:
        return ()
    for change in due:
        node = load(state, ns.node_key(change.address), NodeRecord)
        if node is None:  # cannot happen: a change is only opened for a registered node, and nodes are never deleted
            raise ExecutionFailure(f"node {node_name(change.address)} of a scheduled change is missing", ResultCode.INTERNAL_ERROR)
        store(state, ns.node_key(change.address), replace(node, state=change.state))
        set_validator(state, change.address, node.public_key, active=change.joins)
    remaining = tuple(c for c in current.changes if c not in due)
    store(state, ns.membership_key(), Membership(height + 1, remaining))
    return tuple(due)
