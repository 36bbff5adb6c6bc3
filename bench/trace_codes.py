"""Item-code issuance benchmark: serials, PINs, PIN hashes and batch Merkle trees for a million items.

python -m bench.trace_codes [--items N] [--batch N] [--proofs N]

issue_all issues --items codes in batches of --batch (apps.traceability.codes.
issue_batch, one core) and the figure is the wall-clock seconds for all of
them (items/s alongside), checked against 20 s for a million; then one batch
of min(--items, 1,000,000) as a single tree; then, on one stored tree blob,
proofs read back (BatchTree.from_bytes, then proof(i)) and verified per second.
Committing each batch root on the chain is not timed here: issue_all returns
the batches for a caller that does.
"""
from __future__ import annotations

import argparse
import random
import resource
import time

from apps.traceability.codes import MAX_BATCH, BatchTree, IssuedBatch, issue_batch, verify_proof
from bench.report import emit, log

TARGET_S_PER_MILLION = 20.0
GTIN = "09506000134352"


def issue_all(items: int, batch: int, gtin: str = GTIN, lot_prefix: str = "B") -> list[IssuedBatch]:
    """`items` item codes of one GTIN in batches of at most `batch` (lots <lot_prefix>00001, ...)."""
    if items < 1 or not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"items must be positive and batch 1..{MAX_BATCH:,}")
    batches = []
    for number, start in enumerate(range(0, items, batch), 1):
        batches.append(issue_batch(gtin, f"{lot_prefix}{number:05d}", min(batch, items - start)))
    return batches


def run(items: int, batch: int, proofs: int) -> None:
    log(f"issuing {items:,} items in batches of {batch:,}")
    start = time.perf_counter()
    batches = issue_all(items, batch)
    took = time.perf_counter() - start
    target = TARGET_S_PER_MILLION * items / 1_000_000
    emit("trace_codes", "issue_seconds", took, items=items, batch=batch, batches=len(batches),
         items_per_s=round(items / took), target_s=target, target_met=took < target)
    del batches
    single = min(items, MAX_BATCH)
    log(f"issuing one batch of {single:,}")
    start = time.perf_counter()
    one = issue_batch(GTIN, "ONE", single)
    took = time.perf_counter() - start
    blob = one.tree.to_bytes()
    emit("trace_codes", "issue_one_batch_seconds", took, items=single, items_per_s=round(single / took),
         tree_mb=round(len(blob) / 2**20, 1), max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    rng = random.Random(7)
    indexes = [rng.randrange(single) for _ in range(proofs)]
    start = time.perf_counter()
    tree = BatchTree.from_bytes(blob)
    paths = [(tree.leaf(i), tree.proof(i)) for i in indexes]
    took = time.perf_counter() - start
    emit("trace_codes", "proofs_from_blob_per_s", proofs / took, items=single, proof_steps=len(paths[0][1]))
    root = tree.root
    start = time.perf_counter()
    assert all(verify_proof(leaf, path, root) for leaf, path in paths)
    emit("trace_codes", "proof_verifications_per_s", proofs / (time.perf_counter() - start), items=single)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    run(args.items, args.batch, args.proofs)


if __name__ == "__main__":
    main()
