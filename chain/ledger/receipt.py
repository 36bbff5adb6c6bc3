"""Receipts: the recorded outcome of each transaction in a block."""
from __future__ import annotations

from dataclasses import dataclass

from chain.codec.schema import to_cbor


@dataclass(frozen=True)
class Receipt:
    """Result of one included transaction: code 0 = success; failures carry the failing operation."""

    tx_hash: bytes
    height: int
    index: int
    code: int
    message: str
    failed_operation: int | None
    result: bytes

    def encode(self) -> bytes:
        """Canonical bytes (hashed into the block's receipts root), encoded once: the root and the stored block both need them."""
        encoded: bytes | None = self.__dict__.get("_encoded")
        if encoded is None:
            encoded = to_cbor(self)
            object.__setattr__(self, "_encoded", encoded)  # a cache beside the fields: not compared, not encoded
        return encoded

    @property
    def success(self) -> bool:
        """True if the transaction's writes were applied."""
        return self.code == 0
