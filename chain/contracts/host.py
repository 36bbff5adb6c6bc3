"""What the VM needs from the ledger (the ledger implements Host; contracts never import the ledger)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chain.contracts.vm.program import Program


@dataclass(frozen=True)
class Environment:
    """Who invoked and in which block: the transaction's first endorser and the block header's facts."""

    origin: str
    organisation: str
    roles: tuple[str, ...]
    height: int
    time_ms: int
    tx_hash: bytes


class Host(Protocol):
    """Ledger access for one invocation; every method may raise HostError with a reason."""

    def load(self, contract: str, key: bytes) -> bytes | None:
        """A contract's stored value, or None."""

    def store(self, contract: str, key: bytes, value: bytes | None) -> None:
        """Write (or with None delete) a contract's stored value."""

    def emit(self, contract: str, event: str, payload: bytes) -> None:
        """Append a contract event (payload: canonical CBOR map of the declared fields)."""

    def read_data(self, contract: str, account: str, key: str) -> bytes | None:
        """Read a key of a data account, under the invoker's read permissions."""

    def write_data(self, contract: str, account: str, key: str, value: bytes) -> None:
        """Write a key of a data account, under the invoker's write permissions."""

    def program(self, contract: str) -> Program:
        """The current, active program of another contract (HostError if missing or frozen)."""
