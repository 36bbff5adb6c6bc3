"""An in-memory ledger for developing and testing contracts offline: deploy, invoke, inspect state and events.

It applies the same VM, limits and rollback rule as a node (a failed
invocation leaves no write behind); what it lacks is consensus, signatures and
the ledger's permission model (reads and writes of data accounts are allowed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chain.contracts.compiler import compile_source
from chain.contracts.errors import ContractError, HostError
from chain.contracts.host import Environment
from chain.contracts.limits import DEFAULT_LIMITS, Limits
from chain.contracts.values import encode_args
from chain.contracts.vm.execute import Outcome, execute
from chain.contracts.vm.program import Program, load_program


@dataclass
class _Pending:
    """Writes of one invocation, applied only if it succeeds."""

    storage: dict[tuple[str, bytes], bytes | None] = field(default_factory=dict)
    data: dict[tuple[str, str], bytes] = field(default_factory=dict)
    events: list[tuple[str, str, bytes]] = field(default_factory=list)


class Sandbox:
    """Contracts and their storage in dictionaries."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.programs: dict[str, Program] = {}
        self.frozen: set[str] = set()
        self.storage: dict[tuple[str, bytes], bytes] = {}
        self.data: dict[tuple[str, str], bytes] = {}
        self.events: list[tuple[str, str, bytes]] = []
        self.height = 1
        self.time_ms = 1_700_000_000_000
        self._pending = _Pending()

    def deploy(self, name: str, source_or_ir: str | bytes) -> Program:
        """Deploy source (compiled here) or IR bytes under a name."""
        code = source_or_ir if isinstance(source_or_ir, bytes) else compile_source(source_or_ir, f"{name}.py").encode()
        program = load_program(code)
        self.programs[name] = program
        return program

    def invoke(self, name: str, function: str, *args: Any, origin: str = "user:alice", organisation: str = "org1",
               roles: tuple[str, ...] = (), gas_limit: int | None = None, record: bool = False,
               on_step: Callable[..., None] | None = None) -> Outcome:
        """Run a function as `origin`; writes are kept only on success; each call is one block."""
        self.height += 1
        self.time_ms += 1000
        env = Environment(origin, organisation, roles, self.height, self.time_ms, self.height.to_bytes(32, "big"))
        self._pending = _Pending()
        # arguments travel as a node gets them (canonical CBOR), so tuples arrive as lists there and here
        try:
            encoded = encode_args(list(args))
        except ContractError as exc:
            raise ValueError(f"arguments are not contract values: {exc}") from None
        outcome = execute(self.program(name), self, env, name, function, encoded, limits=self.limits,
                          gas_limit=gas_limit, record=record, on_step=on_step)
        if outcome.ok:
            for key, value in self._pending.storage.items():
                if value is None:
                    self.storage.pop(key, None)
                else:
                    self.storage[key] = value
            self.data.update(self._pending.data)
            self.events.extend(self._pending.events)
        return outcome

    # Host

    def load(self, contract: str, key: bytes) -> bytes | None:
        """Stored value as this invocation sees it."""
        if (contract, key) in self._pending.storage:
            return self._pending.storage[(contract, key)]
        return self.storage.get((contract, key))

    def store(self, contract: str, key: bytes, value: bytes | None) -> None:
        """Buffer a write."""
        self._pending.storage[(contract, key)] = value

    def emit(self, contract: str, event: str, payload: bytes) -> None:
        """Buffer an event."""
        self._pending.events.append((contract, event, payload))

    def read_data(self, contract: str, account: str, key: str) -> bytes | None:
        """A data account value."""
        return self._pending.data.get((account, key), self.data.get((account, key)))

    def write_data(self, contract: str, account: str, key: str, value: bytes) -> None:
        """Buffer a data account write."""
        self._pending.data[(account, key)] = value

    def program(self, contract: str) -> Program:
        """A deployed, active contract."""
        if contract not in self.programs:
            raise HostError(f"contract {contract!r} does not exist")
        if contract in self.frozen:
            raise HostError(f"contract {contract!r} is FROZEN")
        return self.programs[contract]
