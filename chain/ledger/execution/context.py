"""What execution knows about the block and the transaction: never the wall clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from operator import attrgetter

from chain.crypto import CryptoSuite
from chain.ledger.model import LedgerSettings, UserRecord

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_address = attrgetter("address")


def block_time(timestamp_ms: int) -> datetime:
    """The block timestamp as an aware datetime, computed without floats."""
    return EPOCH + timedelta(milliseconds=timestamp_ms)


#: Contract gas one block may spend in total (about 5-10 s of execution on one core at worst): later
#: invocations in the block fail with LIMIT_EXCEEDED, the same way on every node.
BLOCK_GAS = 50_000_000


class GasBudget:
    """Contract gas left in the block being executed (mutable: invocations spend it in block order)."""

    __slots__ = ("remaining",)

    def __init__(self, remaining: int | None = None) -> None:
        self.remaining = BLOCK_GAS if remaining is None else remaining


@dataclass(frozen=True)
class BlockContext:
    """The block being built or replayed."""

    suite: CryptoSuite
    height: int
    timestamp_ms: int
    gas: GasBudget = field(default_factory=GasBudget, compare=False)

    @property
    def time(self) -> datetime:
        """Block time for certificate validity checks."""
        return block_time(self.timestamp_ms)

    @cached_property
    def signature_prefix(self) -> bytes:
        """The 2-byte algorithm prefix every endorsement key of this ledger starts with."""
        return self.suite.signature_algorithm.prefix


@dataclass(frozen=True)
class TxContext:
    """One transaction inside a block; genesis runs privileged (no permission checks)."""

    block: BlockContext
    tx_hash: bytes
    signers: tuple[UserRecord, ...]
    settings: LedgerSettings
    privileged: bool = False
    #: Addresses of the endorsers (derived once: handlers ask several times per transaction).
    signer_addresses: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signer_addresses", tuple(map(_address, self.signers)))
