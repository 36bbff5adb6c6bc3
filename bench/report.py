"""Shared benchmark helpers: timing by repetition and the JSON-line output format."""
from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any, Callable


def emit(bench: str, metric: str, value: float, **extra: Any) -> None:
    """Print one result line."""
    line = {"bench": bench, "metric": metric, "value": round(value, 1), **extra}
    print(json.dumps(line), flush=True)


def rate(work: Callable[[], int], runs: int = 5) -> tuple[float, float]:
    """(median, best) operations per second over several runs of work(), which returns its op count."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        ops = work()
        rates.append(ops / (time.perf_counter() - start))
    return statistics.median(rates), max(rates)


def log(message: str) -> None:
    """Progress on stderr, so stdout stays pure JSON lines."""
    print(message, file=sys.stderr, flush=True)
