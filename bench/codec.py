"""Throughput of the canonical codec on a transaction-shaped structure.

Run ``python -m bench.codec``; prints one JSON line per metric:
``{"bench": "codec", "metric": "encode_per_s", "value": N}``. The payload is
an array of 8 fields with nested arrays, byte strings, ints and text, about
300 bytes, the shape of a signed ledger transaction. ``schema_*`` metrics go
through the frozen-dataclass helper (``to_cbor``/``from_cbor``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from chain.codec import decode, encode, from_cbor, to_cbor


@dataclass(frozen=True)
class BenchOp:
    """An operation: type code and parameters."""

    op_type: int
    key: str
    value: bytes


@dataclass(frozen=True)
class BenchEndorsement:
    """An endorsing signature."""

    algorithm: int
    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class BenchTx:
    """A transaction-shaped object of 8 fields."""

    version: int
    ledger: bytes
    nonce: int
    expiry: int
    ops: tuple[BenchOp, ...]
    sender: bytes
    endorsements: tuple[BenchEndorsement, ...]
    memo: str | None


def sample_tx() -> BenchTx:
    """Build the benchmark transaction."""
    return BenchTx(
        version=1,
        ledger=bytes(range(32)),
        nonce=123_456_789,
        expiry=1_700_000_000,
        ops=(
            BenchOp(3, "account/alice/balance", b"\x22" * 40),
            BenchOp(4, "contract/transfer", b"\x33" * 24),
        ),
        sender=b"\x02" + b"\x44" * 32,
        endorsements=(BenchEndorsement(1, b"\x55" * 32, b"\x66" * 64),),
        memo="payment for invoice #42",
    )


def rate(func: Callable[[], object], seconds: float = 0.4, rounds: int = 5) -> int:
    """Best calls-per-second over ``rounds`` timed runs of about ``seconds`` each."""
    best = 0.0
    for _ in range(rounds):
        calls = 0
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < seconds:
            for _ in range(1000):
                func()
            calls += 1000
            elapsed = time.perf_counter() - start
        best = max(best, calls / elapsed)
    return int(best)


def emit(metric: str, value: int) -> None:
    """Print one result line."""
    print(json.dumps({"bench": "codec", "metric": metric, "value": value}), flush=True)


def main() -> None:
    """Measure and print encode/decode rates."""
    tx = sample_tx()
    blob = to_cbor(tx)
    value = decode(blob)
    assert encode(value) == blob and from_cbor(BenchTx, blob) == tx
    emit("tx_size_bytes", len(blob))
    emit("encode_per_s", rate(lambda: encode(value)))
    emit("decode_per_s", rate(lambda: decode(blob)))
    emit("schema_encode_per_s", rate(lambda: to_cbor(tx)))
    emit("schema_decode_per_s", rate(lambda: from_cbor(BenchTx, blob)))


if __name__ == "__main__":
    main()
