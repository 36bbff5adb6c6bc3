"""Data accounts and versioned KV writes."""
from __future__ import annotations

from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import check_name, demand, has_ledger_permission, is_owner, load, store
from chain.ledger.model import DataAccount, DataEntry, Role
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.ledger.permissions import LedgerPermission

MAX_KEY_BYTES = 1024


def register_data_account(state: Overlay, ctx: TxContext, op: RegisterDataAccount) -> None:
    """Create a data account owned by the endorsers."""
    demand(state, ctx, LedgerPermission.REGISTER_DATA_ACCOUNT, "registering a data account")
    check_name(op.name, "data account name")
    if load(state, ns.data_account_key(op.name), DataAccount) is not None:
        raise ExecutionFailure(f"data account {op.name!r} already exists", ResultCode.ALREADY_EXISTS)
    for role in op.readers:
        if load(state, ns.role_key(role), Role) is None:
            raise ExecutionFailure(f"reader role {role!r} does not exist", ResultCode.NOT_FOUND)
    store(state, ns.data_account_key(op.name), DataAccount(op.name, ctx.signer_addresses, tuple(op.readers), ctx.block.height))


def write_kv(state: Overlay, ctx: TxContext, op: WriteKV) -> None:
    """Write one key; the stated expected version must match the current one."""
    account = load(state, ns.data_account_key(op.account), DataAccount)
    if account is None:
        raise ExecutionFailure(f"data account {op.account!r} does not exist", ResultCode.NOT_FOUND)
    if not is_owner(account.owners, ctx) and not has_ledger_permission(state, ctx, LedgerPermission.WRITE_ANY_DATA_ACCOUNT):
        from chain.ledger.errors import Rejection

        raise Rejection(
            f"only an owner of {op.account!r} or a holder of WRITE_ANY_DATA_ACCOUNT may write to it", ResultCode.PERMISSION_DENIED
        )
    raw_key = op.key.encode("utf-8")
    if not raw_key or len(raw_key) > MAX_KEY_BYTES:
        raise ExecutionFailure(f"key must be 1..{MAX_KEY_BYTES} bytes of UTF-8", ResultCode.INVALID_ARGUMENT)
    key = ns.data_entry_key(op.account, op.key)
    current = load(state, key, DataEntry)
    current_version = current.version if current is not None else -1
    if op.expected_version is not None and op.expected_version != current_version:
        raise ExecutionFailure(
            f"{op.account}/{op.key} is at version {current_version}, not {op.expected_version}", ResultCode.VERSION_CONFLICT
        )
    addresses = ctx.signer_addresses
    writer = addresses[0] if addresses else b""
    store(state, key, DataEntry(op.value, current_version + 1, writer, ctx.block.height, ctx.tx_hash))
