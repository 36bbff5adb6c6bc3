"""Ledger settings."""
from __future__ import annotations

from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import demand, load, store
from chain.ledger.model import LedgerSettings
from chain.ledger.operations import UpdateLedgerSettings
from chain.ledger.permissions import LedgerPermission

_POSITIVE = ("max_tx_bytes", "max_ops_per_tx", "max_endorsements", "max_block_txs", "max_tx_ttl_blocks", "block_interval_ms",
             "validator_change_delay")


def update_ledger_settings(state: Overlay, ctx: TxContext, op: UpdateLedgerSettings) -> None:
    """Replace the settings; the name and the crypto suite are fixed at genesis."""
    demand(state, ctx, LedgerPermission.UPDATE_LEDGER_SETTINGS, "updating ledger settings")
    new = op.settings
    current = load(state, ns.settings_key(), LedgerSettings)
    if current is not None and (new.suite != current.suite or new.name != current.name):
        raise ExecutionFailure("the ledger name and crypto suite cannot change after genesis", ResultCode.INVALID_ARGUMENT)
    if new.suite != ctx.block.suite.name:
        raise ExecutionFailure(f"settings name suite {new.suite!r}, the ledger runs {ctx.block.suite.name!r}", ResultCode.INVALID_ARGUMENT)
    for field in _POSITIVE:
        if getattr(new, field) <= 0:
            raise ExecutionFailure(f"{field} must be positive", ResultCode.INVALID_ARGUMENT)
    store(state, ns.settings_key(), new)
