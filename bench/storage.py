"""Storage benchmark: LevelDBKV point reads, synced batch commits and prefix scans on 1,000,000 keys.

python -m bench.storage [--keys N] [--dir PATH] [--quick]
Keys are 32 random bytes, values 100 random bytes (incompressible, so snappy
gains nothing). Each figure is the median of 5 runs (best alongside). The
database lives in a temporary directory (or --dir) on the disk under test and
is removed afterwards; synced commits measure that disk's fsync.
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.report import emit, log, rate
from chain.storage import LevelDBKV, LevelDBOptions

KEY_SIZE = 32
VALUE_SIZE = 100
LOAD_BATCH = 10_000
COMMIT_BATCH = 1_000


def load(store: LevelDBKV, count: int, rng: random.Random) -> list[bytes]:
    """Insert count random keys in unsynced batches; return the keys."""
    keys: list[bytes] = []
    start = time.perf_counter()
    while len(keys) < count:
        chunk = [rng.randbytes(KEY_SIZE) for _ in range(min(LOAD_BATCH, count - len(keys)))]
        store.apply([(key, rng.randbytes(VALUE_SIZE)) for key in chunk], sync=False)
        keys.extend(chunk)
    elapsed = time.perf_counter() - start
    emit("storage", "load_keys_per_s", count / elapsed, keys=count, batch=LOAD_BATCH, sync=False)
    return keys


def bench_gets(store: LevelDBKV, keys: list[bytes], rng: random.Random, lookups: int) -> None:
    """Random point reads of present and absent keys, through LevelDBKV and through plyvel directly."""
    sample = rng.choices(keys, k=lookups)
    absent = [rng.randbytes(KEY_SIZE) for _ in range(lookups)]
    raw = store._db  # the plyvel handle: shows what the wrapper costs

    def gets() -> int:
        get = store.get
        for key in sample:
            get(key)
        return lookups

    def raw_gets() -> int:
        get = raw.get
        for key in sample:
            get(key)
        return lookups

    def absent_gets() -> int:
        get = store.get
        for key in absent:
            get(key)
        return lookups

    gets()  # warm the block cache and the OS page cache
    for metric, work in (("get_per_s", gets), ("get_per_s_plyvel_raw", raw_gets), ("get_absent_per_s", absent_gets)):
        med, best = rate(work)
        emit("storage", metric, med, best=round(best, 1), keys=len(keys), lookups=lookups)


def bench_commits(store: LevelDBKV, rng: random.Random, batches: int, runs: int = 5) -> None:
    """Batches of COMMIT_BATCH new keys, committed with sync=True (one fsync per batch); data made up front."""

    def make_batch() -> list[tuple[bytes, bytes]]:
        return [(rng.randbytes(KEY_SIZE), rng.randbytes(VALUE_SIZE)) for _ in range(COMMIT_BATCH)]

    prepared = iter([make_batch() for _ in range(batches * runs)])

    def commit() -> int:
        for _ in range(batches):
            store.apply(next(prepared))
        return batches

    med, best = rate(commit, runs=runs)
    emit("storage", "sync_batch_commits_per_s", med, best=round(best, 1), batch=COMMIT_BATCH, sync=True)
    emit("storage", "sync_batch_keys_per_s", med * COMMIT_BATCH, best=round(best * COMMIT_BATCH, 1), batch=COMMIT_BATCH)


def bench_scan(store: LevelDBKV, prefixes: int) -> None:
    """Iterate every key under `prefixes` one-byte prefixes (~1/256 of the keys each)."""

    def scan() -> int:
        seen = 0
        for first in range(prefixes):
            for _ in store.iterate(bytes([first * 256 // prefixes])):
                seen += 1
        return seen

    med, best = rate(scan)
    emit("storage", "prefix_scan_keys_per_s", med, best=round(best, 1), prefixes=prefixes, prefix_len=1)


def main() -> None:
    """Run the storage benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="parent directory of the scratch database")
    parser.add_argument("--quick", action="store_true", help="100,000 keys and fewer repetitions")
    args = parser.parse_args()
    count = 100_000 if args.quick else args.keys
    rng = random.Random(20240601)
    scratch = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=args.dir))
    try:
        store = LevelDBKV(scratch / "db", options=LevelDBOptions())
        log(f"loading {count:,} keys into {scratch}")
        keys = load(store, count, rng)
        log("point reads")
        bench_gets(store, keys, rng, lookups=50_000 if args.quick else 200_000)
        log("synced batch commits")
        bench_commits(store, rng, batches=10 if args.quick else 40)
        log("prefix scans")
        bench_scan(store, prefixes=4 if args.quick else 16)
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
