"""Batch verification gives the serial verdicts, in order, on the pool and off it."""
from __future__ import annotations

import pytest

from chain.crypto import CLASSIC, SM, BatchVerifier, verify_serial


def _items(n: int) -> tuple[list[tuple[bytes, bytes, bytes]], list[bool]]:
    items, expected = [], []
    pairs = [CLASSIC.generate_keypair(), SM.generate_keypair()]
    for i in range(n):
        pair = pairs[i % 2]
        msg = b"tx-%d" % i
        sig = pair.private.sign(msg).encode()
        good = i % 7 != 3
        items.append((pair.public.encode(), msg if good else msg + b"!", sig))
        expected.append(good)
    items.append((b"junk", b"m", b"junk"))
    expected.append(False)
    return items, expected


def test_serial_verification_flags_exactly_the_bad_items() -> None:
    items, expected = _items(50)
    assert verify_serial(items) == expected


@pytest.mark.timeout(120)
def test_pool_verification_matches_serial_and_keeps_order() -> None:
    items, expected = _items(300)
    with BatchVerifier(workers=2, serial_below=10) as verifier:  # 2 workers + the caller: 3 shares
        verifier.start()
        assert verifier.verify(items) == expected
        assert verifier.verify(items[:5]) == expected[:5]  # small batch: in-process
        assert verifier.verify([]) == []


def test_verifier_without_workers_verifies_in_process() -> None:
    items, expected = _items(20)
    with BatchVerifier(workers=0, serial_below=1) as verifier:
        verifier.start()
        assert verifier.verify(items) == expected
