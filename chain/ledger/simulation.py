"""Dry runs of contract invocations against the latest state: result, events, read/write set, gas and a step trace.

Nothing is committed. The transaction must be signed by registered, active
users (reads follow their permissions exactly as in a block), but it need not
be fresh: expiry and replay are not checked, since it never enters a block.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chain.contracts import (
    ContractError,
    LimitExceeded,
    decode_value,
    encode_value,
    execute,
)
from chain.contracts.vm.program import UNSET
from chain.ledger.chain_store import ChainStore
from chain.ledger.errors import Rejection, ResultCode
from chain.ledger.execution.context import BlockContext, TxContext
from chain.ledger.execution.contract_host import LedgerHost, program_of
from chain.ledger.execution.executor import resolve_signers
from chain.ledger.execution.handlers.contracts import environment
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import demand_tx_permission, settings
from chain.ledger.operations import InvokeContract
from chain.ledger.permissions import TxPermission
from chain.ledger.transaction import Transaction

MAX_TRACE_STEPS = 10_000


@dataclass
class Step:
    """One executed statement: where, how much gas had been spent before it, and the frame's assigned locals."""

    contract: str
    function: str
    line: int
    gas: int
    locals: dict[str, Any]


@dataclass
class InvocationReport:
    """What one InvokeContract did in the dry run."""

    contract: str
    function: str
    version: int
    ok: bool
    value: Any
    gas_used: int
    error: str | None
    error_code: str | None
    events: list[dict[str, Any]]
    reads: list[list[Any]]
    writes: list[list[Any]]
    steps: list[Step] = field(default_factory=list)
    truncated: bool = False


class _Tracer:
    """Collects steps (bounded) from the VM's per-statement hook."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.truncated = False

    def __call__(self, line: int, frame: list[Any]) -> None:
        if len(self.steps) >= MAX_TRACE_STEPS:
            self.truncated = True
            return
        meter, call, fn = frame[0], frame[1], frame[2]
        local_values = {
            name.split("#")[0]: _snapshot(value) for name, value in zip(fn.slot_names, frame[3:]) if value is not UNSET
        }
        self.steps.append(Step(call.contract, fn.name, line, meter.gas, local_values))


def _snapshot(value: Any) -> Any:
    """A copy of a local as it is now (later mutation must not rewrite the trace)."""
    try:
        return decode_value(encode_value(value))
    except ContractError:
        return f"<{type(value).__name__}>"


def simulate(chain: ChainStore, tx: Transaction, *, trace: bool = False, gas_limit: int | None = None,
             version: int | None = None) -> list[InvocationReport]:
    """Run the transaction's InvokeContract operations on a throwaway overlay of the latest state."""
    if not tx.signatures_valid():
        raise Rejection("an endorsement signature does not verify", ResultCode.BAD_SIGNATURE)
    ops = tx.content.operations
    if not ops or not all(isinstance(op, InvokeContract) for op in ops):
        raise Rejection("simulate runs transactions made only of InvokeContract operations", ResultCode.MALFORMED)
    state = Overlay(chain.state)
    height = chain.height
    block = BlockContext(chain.suite, height + 1, chain.header(height).timestamp_ms)
    signers = resolve_signers(state, tx, block)
    ctx = TxContext(block, tx.hash, signers, settings(state))
    demand_tx_permission(state, ctx, TxPermission.CONTRACT_OPERATION)
    reports: list[InvocationReport] = []
    for op in ops:
        assert isinstance(op, InvokeContract)
        reports.append(_run(state, ctx, op, trace, gas_limit, version))
        if not reports[-1].ok:
            break
    return reports


def _run(state: Overlay, ctx: TxContext, op: InvokeContract, trace: bool, gas_limit: int | None,
         version: int | None) -> InvocationReport:
    tracer = _Tracer() if trace else None
    try:
        record, program = program_of(state, op.name, version)
    except ContractError as exc:
        return InvocationReport(op.name, op.function, -1, False, None, 0, str(exc), exc.code, [], [], [])
    outcome = execute(program, LedgerHost(state, ctx), environment(ctx), op.name, op.function, op.args,
                      gas_limit=gas_limit, record=True, on_step=tracer)
    accesses = outcome.accesses or []
    reads = [[kind, where, key, value] for kind, where, key, value in accesses if kind.startswith("read")]
    writes = [[kind, where, key, value] for kind, where, key, value in accesses if not kind.startswith("read")]
    events = [{"contract": c, "event": e, "fields": f} for c, e, f in outcome.events]
    error = outcome.error
    report = InvocationReport(
        op.name, op.function, record.version if version is None else version, outcome.ok, outcome.value, outcome.gas_used,
        None if error is None else str(error), None if error is None else (error.limit if isinstance(error, LimitExceeded) else error.code),
        events, reads, writes,
    )
    if tracer is not None:
        report.steps, report.truncated = tracer.steps, tracer.truncated
    return report
