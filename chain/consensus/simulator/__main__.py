"""python -m chain.consensus.simulator --seeds 0-4999 [--jobs N]: the long mode; prints one JSON line per failure and a summary."""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from chain.consensus.simulator.scenario import Scenario, run_scenario


def _run(seed: int) -> tuple[int, list[str], int]:
    outcome = run_scenario(Scenario.from_seed(seed))
    return seed, list(outcome.violations), outcome.committed_after_heal


def _seeds(text: str) -> range:
    start, _, end = text.partition("-")
    return range(int(start), int(end or start) + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0-999", help="inclusive range, e.g. 0-4999")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds = _seeds(args.seeds)
    started = time.perf_counter()
    failures = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for seed, violations, progress in pool.map(_run, seeds, chunksize=8):
            if violations:
                failures += 1
                print(json.dumps({"seed": seed, "violations": violations[:5]}), flush=True)
    print(json.dumps({"scenarios": len(seeds), "failures": failures,
                      "seconds": round(time.perf_counter() - started, 1)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
