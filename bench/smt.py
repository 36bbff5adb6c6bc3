"""State-tree micro-benchmark: where commit and proof time goes (tree work vs storage), per tree size.

python -m bench.smt [--keys N] [--batch N] [--samples N] [--store leveldb|memory] [--profile]

Grows a tree (inserting in 50,000-key versions) and at each checkpoint times
1,000-key random updates, split into `tree.update` and the synced batch write,
with the records and bytes written; then proof generation (cold / warm cache),
the number of storage reads per proof, and verification.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import statistics
import tempfile
import time

from bench.report import emit, log
from chain.ledger.smt import SparseMerkleTree, verify_proof


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class _CountingReader:
    def __init__(self, get) -> None:  # type: ignore[no-untyped-def]
        self._get = get
        self.reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self._get(key)


def run(keys: int, batch: int, samples: int, store: str, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as directory:
        if store == "leveldb":
            from chain.storage import LevelDBKV

            kv = LevelDBKV(os.path.join(directory, "tree"))
            get, apply = kv.get, kv.apply
        else:
            data: dict[bytes, bytes] = {}
            get, apply = data.get, lambda writes, sync=False: data.update(writes)
        reader = _CountingReader(get)
        tree = SparseMerkleTree(reader, _sha)
        rng = random.Random(7)
        version = inserted = 0
        checkpoints = [c for c in (10**4, 10**5, 10**6, 10**7) if c < keys] + [keys]
        prof = cProfile.Profile() if profile else None
        while inserted < keys:
            target = min(c for c in checkpoints if c > inserted)
            size = min(50_000, target - inserted)
            changes = {_sha(b"key%d" % (inserted + i)): _sha(b"v%d" % (inserted + i)) for i in range(size)}
            update = tree.update(version if version else None, version + 1, changes)
            apply(update.writes, sync=False)
            version += 1
            inserted += size
            if inserted not in checkpoints:
                continue
            tree_ms, write_ms, records, nbytes, reads = [], [], [], [], []
            for _ in range(7):
                changes = {_sha(b"key%d" % rng.randrange(inserted)): _sha(os.urandom(8)) for _ in range(batch)}
                reader.reads = 0
                t0 = time.perf_counter()
                if prof is not None and inserted == keys:
                    prof.enable()
                update = tree.update(version, version + 1, changes)
                if prof is not None:
                    prof.disable()
                t1 = time.perf_counter()
                apply(update.writes, sync=True)
                t2 = time.perf_counter()
                version += 1
                tree_ms.append((t1 - t0) * 1000)
                write_ms.append((t2 - t1) * 1000)
                records.append(len(update.writes))
                nbytes.append(sum(len(k) + len(v) for k, v in update.writes.items()))
                reads.append(reader.reads)
            emit("smt", f"commit_{batch}_keys_ms", statistics.median(a + b for a, b in zip(tree_ms, write_ms)),
                 state_keys=inserted, tree_ms=round(statistics.median(tree_ms), 1),
                 write_ms=round(statistics.median(write_ms), 1), records=int(statistics.median(records)),
                 kbytes=round(statistics.median(nbytes) / 1024), reads=int(statistics.median(reads)))
        root = tree.root_hash(version)
        for label, clear in (("cold", True), ("warm", False)):
            probe = [_sha(b"key%d" % rng.randrange(keys)) for _ in range(samples)]
            if clear:
                tree._cache.clear()
            reader.reads = 0
            t0 = time.perf_counter()
            proofs = [tree.prove(version, k) for k in probe]
            took = time.perf_counter() - t0
            emit("smt", f"proof_generation_per_s_{label}", samples / took, state_keys=keys,
                 reads_per_proof=round(reader.reads / samples, 2))
        values = [tree.get(version, k) for k in probe]
        t0 = time.perf_counter()
        for k, v, p in zip(probe, values, proofs):
            verify_proof(_sha, root, k, v, p)
        emit("smt", "proof_verification_per_s", samples / (time.perf_counter() - t0), state_keys=keys,
             mean_depth=round(sum(len(p.siblings) for p in proofs) / samples, 1))
        if prof is not None:
            log("profile of the last checkpoint's updates:")
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        if store == "leveldb":
            kv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--store", choices=["leveldb", "memory"], default="leveldb")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    run(args.keys, args.batch, args.samples, args.store, args.profile)


if __name__ == "__main__":
    main()
