"""What execution knows about the block and the transaction: never the wall clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chain.crypto import CryptoSuite
from chain.ledger.model import LedgerSettings, UserRecord

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def block_time(timestamp_ms: int) -> datetime:
    """The block timestamp as an aware datetime, computed without floats."""
    return EPOCH + timedelta(milliseconds=timestamp_ms)


@dataclass(frozen=True)
class BlockContext:
    """The block being built or replayed."""

    suite: CryptoSuite
    height: int
    timestamp_ms: int

    @property
    def time(self) -> datetime:
        """Block time for certificate validity checks."""
        return block_time(self.timestamp_ms)


@dataclass(frozen=True)
class TxContext:
    """One transaction inside a block; genesis runs privileged (no permission checks)."""

    block: BlockContext
    tx_hash: bytes
    signers: tuple[UserRecord, ...]
    settings: LedgerSettings
    privileged: bool = False

    @property
    def signer_addresses(self) -> tuple[bytes, ...]:
        """Addresses of the endorsers."""
        return tuple(s.address for s in self.signers)
