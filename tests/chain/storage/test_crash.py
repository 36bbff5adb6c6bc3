"""Crash durability of LevelDBKV: SIGKILL a writer at random moments; every acknowledged batch survives whole.

A killed process loses nothing the OS already holds, so this exercises
LevelDB's atomic write-ahead-log recovery (no torn batch is ever replayed,
even when a batch spans several 32 KiB log blocks) and the acknowledge-after-
commit contract; fsync itself only matters for an OS crash or power loss.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")

from chain.storage import LevelDBKV  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
KEYS_PER_BATCH = 12
VALUE_SIZE = 6000  # 72 KB per batch: every batch crosses LevelDB's 32 KiB log blocks


def _kill_once(path: Path, rng: random.Random) -> list[int]:
    """Run the writer until it has acknowledged at least one batch, SIGKILL it at a random moment; its acks."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "crash_writer.py"), str(path), str(KEYS_PER_BATCH), str(VALUE_SIZE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    time.sleep(rng.uniform(0.0, 0.15))
    proc.send_signal(signal.SIGKILL)
    # Read through the same buffered object as readline(): communicate() reads the raw
    # pipe and would skip lines readline() had already buffered.
    rest = proc.stdout.read()
    err = proc.stderr.read() if proc.stderr is not None else b""
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    lines = (first + rest).decode().split()
    assert lines, err.decode()
    return [int(line) for line in lines]


def _check(path: Path, acked: list[int], before: int) -> int:
    """Every acknowledged batch is whole, no batch is partial, at most one unacknowledged batch landed."""
    sys.path.insert(0, str(HERE))
    try:
        from crash_writer import batch_key, value
    finally:
        sys.path.remove(str(HERE))
    with LevelDBKV(path, create_if_missing=False) as store:
        counts = Counter(int(key.split(b"/")[1]) for key, _ in store.iterate(b"b/"))
        last = int(store.get(b"meta/last") or b"0")
        present = sorted(counts)
        assert present == list(range(1, last + 1)), "batches must be contiguous up to meta/last"
        torn = {n: c for n, c in counts.items() if c != KEYS_PER_BATCH}
        assert not torn, f"half-applied batches: {torn}"
        assert acked == list(range(before + 1, before + 1 + len(acked)))
        assert acked[-1] <= last <= acked[-1] + 1, (acked[-1], last)
        for n in (before + 1, acked[-1], last):
            assert store.multi_get([batch_key(n, i) for i in range(KEYS_PER_BATCH)]) == [
                value(n, i, VALUE_SIZE) for i in range(KEYS_PER_BATCH)
            ]
    return last


def _kill_loop(path: Path, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    last = 0
    for _ in range(rounds):
        acked = _kill_once(path, rng)
        last = _check(path, acked, last)


def test_sigkill_never_loses_or_tears_a_batch(tmp_path: Path) -> None:
    _kill_loop(tmp_path / "db", rounds=5, seed=random.randrange(1 << 30))


@pytest.mark.slow
def test_sigkill_soak(tmp_path: Path) -> None:
    _kill_loop(tmp_path / "db", rounds=50, seed=random.randrange(1 << 30))
