"""Entry point of one invocation: decode arguments, run, encode the result, report gas, events and accesses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chain.contracts.errors import ContractError
from chain.contracts.host import Environment, Host
from chain.contracts.limits import DEFAULT_LIMITS, Limits
from chain.contracts.values import decode_args
from chain.contracts.vm.meter import Meter
from chain.contracts.vm.program import Program, _encoded


@dataclass
class Outcome:
    """What an invocation did: its result (canonical CBOR) or its error, and what it cost."""

    value: Any
    result: bytes
    gas_used: int
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    accesses: list[tuple[str, str, Any, Any]] | None = None
    error: ContractError | None = None

    @property
    def ok(self) -> bool:
        """True if the invocation completed (its writes stand)."""
        return self.error is None


def execute(program: Program, host: Host, env: Environment, contract: str, function: str, args: bytes | list[Any],
            *, limits: Limits = DEFAULT_LIMITS, gas_limit: int | None = None, record: bool = False,
            on_step: Callable[..., None] | None = None) -> Outcome:
    """Run a public function; a ContractError is returned in the outcome (the caller rolls back the writes)."""
    meter = Meter(limits, gas_limit, on_step, record)
    try:
        values = decode_args(args) if type(args) is bytes else list(args)
        value = program.run(meter, host, env, contract, function, values, env.origin)
        # a value that is not a contract value is the contract's runtime error; an oversized one stops at the limit
        result = _encoded(meter, value, limits.output_bytes, "the result")
    except ContractError as exc:
        # events of a failed invocation are rolled back with its writes; accesses stay, for debugging.
        # The meter may have counted past the limit (the charge that failed); what is used is at most the limit.
        return Outcome(None, b"", min(meter.gas, meter.gas_limit), [], meter.accesses, exc)
    return Outcome(value, result, meter.gas, meter.events, meter.accesses)
