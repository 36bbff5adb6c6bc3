"""Label rendering benchmark: labels per second for the A4 PDF sheets and the PNG and SVG ZIPs.

python -m bench.trace_labels [--labels N] [--workers N] [--runs N]

The labels are those of one issued batch (apps.traceability.codes.issue_batch,
N items, each with its PIN and an expiry), with Digital Links of a typical
length (version 5 QR codes). Each output is rendered --runs times into a
temporary directory with --workers processes (the default: every core) and
once with one worker in this process; the figure is the median of the runs,
wall-clock from the call to the closed file (process start-up included),
checked against 300 labels/s for the PDF. File sizes and QR encodes per
second (qr_matrix alone, one core) are reported alongside.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from apps.traceability import labels as lbl
from apps.traceability.codes import issue_batch
from bench.report import emit, log

PDF_TARGET_PER_S = 300


def make_labels(count: int) -> list[lbl.Label]:
    """`count` labels of one batch, as a brand would print them."""
    batch = issue_batch("09506000134352", "L2026-0417", count)
    return lbl.labels_for_batch(batch, "id.acme-tea.example", "Organic green tea, loose leaf 250 g", "Acme Tea Co.",
                                expiry="271100")


def _time(render: Callable[..., int], labels: list[lbl.Label], path: Path, runs: int,
          **options: Any) -> tuple[float, float, int]:
    rates = []
    calls = []
    for _ in range(runs):
        calls.clear()
        start = time.perf_counter()
        render(labels, path, progress=lambda done, total: calls.append(done), **options)
        rates.append(len(labels) / (time.perf_counter() - start))
        assert calls and calls[-1] == len(labels), "progress did not reach the total"
    return statistics.median(rates), max(rates), path.stat().st_size


def run(count: int, workers: int, runs: int) -> None:
    labels = make_labels(count)
    sample = labels[: min(500, count)]
    lbl.qr_matrix(sample[0].uri)
    start = time.perf_counter()
    for label in sample:
        lbl.qr_matrix(label.uri)
    emit("trace_labels", "qr_encodes_per_s_1core", len(sample) / (time.perf_counter() - start),
         modules=len(lbl.qr_matrix(sample[0].uri)), uri_bytes=len(sample[0].uri))
    with tempfile.TemporaryDirectory() as directory:
        for name, render, options in (("pdf", lbl.render_pdf, {}), ("zip_png", lbl.render_zip, {"fmt": "png"}),
                                      ("zip_svg", lbl.render_zip, {"fmt": "svg"})):
            path = Path(directory) / f"labels.{name}"
            for used in sorted({workers, 1}, reverse=True):
                log(f"{name}: {count} labels, {used} worker(s), {runs} run(s)")
                median, best, size = _time(render, labels, path, runs if used == workers else 1, workers=used, **options)
                extra = {"target_per_s": PDF_TARGET_PER_S, "target_met": median >= PDF_TARGET_PER_S} \
                    if name == "pdf" and used == workers else {}
                emit("trace_labels", f"{name}_labels_per_s", median, best=round(best, 1), labels=count, workers=used,
                     cores=os.cpu_count(), file_mb=round(size / 2**20, 2),
                     **({"pages": -(-count // lbl.PER_PAGE)} if name == "pdf" else {}), **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(args.labels, args.workers, args.runs)


if __name__ == "__main__":
    main()
