"""The consensus benchmark (bench/consensus.py) runs end to end on a small load and reports sane figures."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.chain.node.conftest import REPO


def test_the_benchmark_commits_everything_it_offered_and_reports_cpu_per_transaction() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.consensus", "--nodes", "4", "--seconds", "3", "--rate", "150",
                          "--signers", "12"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    (line,) = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    assert line["metric"] == "classic/n4/fixed/committed_tx_per_s"
    assert line["lost"] == 0 and line["refused"] == 0 and line["failed_in_execution"] == 0
    assert 0 < line["value"] <= line["offered_per_s"] * 1.01
    assert line["offered_per_s"] > 100  # the submitting threads kept (close to) the asked rate
    assert line["validators_cpu_us_per_tx"] > 0 and line["load_generator_cpu_us_per_tx"] > 0
    assert 0 < line["p50_ms"] <= line["p99_ms"]
