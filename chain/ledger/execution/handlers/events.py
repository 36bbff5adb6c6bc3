"""Event accounts and published events."""
from __future__ import annotations

from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, Rejection, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import check_name, demand, has_ledger_permission, is_owner, load, require, store
from chain.ledger.model import Event, EventAccount, TopicHead
from chain.ledger.operations import PublishEvent, RegisterEventAccount
from chain.ledger.permissions import LedgerPermission


def register_event_account(state: Overlay, ctx: TxContext, op: RegisterEventAccount) -> None:
    """Create an event account owned by the endorsers."""
    demand(state, ctx, LedgerPermission.REGISTER_EVENT_ACCOUNT, "registering an event account")
    check_name(op.name, "event account name")
    if op.name.startswith("contract:"):
        raise ExecutionFailure("event account names starting with 'contract:' are reserved for contract events", ResultCode.INVALID_ARGUMENT)
    if load(state, ns.event_account_key(op.name), EventAccount) is not None:
        raise ExecutionFailure(f"event account {op.name!r} already exists", ResultCode.ALREADY_EXISTS)
    store(state, ns.event_account_key(op.name), EventAccount(op.name, ctx.signer_addresses, ctx.block.height))


def publish_event(state: Overlay, ctx: TxContext, op: PublishEvent) -> None:
    """Append an event at the topic's next sequence number."""
    account = require(state, ns.event_account_key(op.account), EventAccount, f"event account {op.account!r}")
    if not is_owner(account.owners, ctx) and not has_ledger_permission(state, ctx, LedgerPermission.PUBLISH_ANY_EVENT):
        raise Rejection(f"only an owner of {op.account!r} may publish to it", ResultCode.PERMISSION_DENIED)
    check_name(op.topic, "topic")
    head = load(state, ns.event_topic_key(op.account, op.topic), TopicHead)
    sequence = head.next_sequence if head is not None else 0
    if op.expected_sequence is not None and op.expected_sequence != sequence:
        raise ExecutionFailure(f"topic {op.topic!r} is at sequence {sequence}, not {op.expected_sequence}", ResultCode.SEQUENCE_CONFLICT)
    publisher = ctx.signer_addresses[0] if ctx.signer_addresses else b""
    event = Event(op.account, op.topic, sequence, op.content, publisher, ctx.block.height, ctx.tx_hash)
    store(state, ns.event_key(op.account, op.topic, sequence), event)
    store(state, ns.event_topic_key(op.account, op.topic), TopicHead(sequence + 1))
