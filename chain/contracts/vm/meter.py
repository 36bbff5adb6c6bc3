"""Per-invocation accounting shared by every frame: gas, memory, call depth, events, and an optional recorder."""
from __future__ import annotations

from typing import Any, Callable

from chain.contracts.errors import LimitExceeded
from chain.contracts.limits import Limits


class Meter:
    """Counts gas and allocated units; raises LimitExceeded the moment a limit is passed."""

    __slots__ = ("gas", "gas_limit", "memory", "limits", "depth", "event_bytes", "events", "accesses", "on_step", "line")

    def __init__(self, limits: Limits, gas_limit: int | None = None, on_step: Callable[..., None] | None = None,
                 record: bool = False) -> None:
        self.limits = limits
        self.gas = 0
        self.gas_limit = limits.gas if gas_limit is None else min(gas_limit, limits.gas)
        self.memory = 0
        self.depth = 0
        self.event_bytes = 0
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        #: (kind, contract or account, key, value) of every state access when recording (simulate, trace).
        self.accesses: list[tuple[str, str, Any, Any]] | None = [] if record else None
        self.on_step = on_step
        self.line = 0

    def charge(self, amount: int) -> None:
        """Spend gas."""
        self.gas += amount
        if self.gas > self.gas_limit:
            raise LimitExceeded(f"out of gas: the limit is {self.gas_limit}", None, "gas")

    def alloc(self, units: int) -> None:
        """Account for allocated items (also paid in gas)."""
        self.memory += units
        if self.memory > self.limits.memory_units:
            raise LimitExceeded(f"memory limit of {self.limits.memory_units} units exceeded", None, "memory")
        self.gas += units
        if self.gas > self.gas_limit:
            raise LimitExceeded(f"out of gas: the limit is {self.gas_limit}", None, "gas")
