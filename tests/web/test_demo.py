"""`make run` runs web.demo (the chain demo with the web front end): it must keep working end to end."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_reports_each_part(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "web.demo"], capture_output=True, text=True, timeout=240,
        env={"CHAIN_DEMO_DIR": str(tmp_path), "CHAIN_DEMO_ONESHOT": "1", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "verify       True (original)" in out and "verify       False (message altered" in out
    assert "batch verify: 1000/1000 valid" in out
    assert out.count("verify refuses: revoked") == 2
    assert any((tmp_path / "ca" / "sm").iterdir())
    assert "4 BFT validators as separate processes" in out
    assert ": committed in block 1 (SUCCESS)" in out and "verified against block 1's state root" in out
    assert "read from node3" in out and "(3 validator signatures)" in out
    assert "demo-token (chain/contracts/examples/token.py) endorsed by" in out
    assert "transfer SUCCESS in block 2" in out and "retailer-1 now holds 25 (dry run)" in out
    assert "/v1 (OpenAPI " in out and "proof verified by the SDK's light client" in out
    assert "explorer     http://127.0.0.1:" in out and "home page 200" in out
    assert "== IoT: a truck's temperature logger" in out and "5 readings accepted (0 duplicates), 5 committed" in out, out
    truck = re.search(r"item on the truck +(http://\S+)", out)
    assert truck, out
    urls = dict(re.findall(r"   (item in the shop|item sold|item recalled batch|forged code) +(http://\S+)", out))
    assert set(urls) == {"item in the shop", "item sold", "item recalled batch", "forged code"}, out
    again = subprocess.run([sys.executable, "-m", "web.demo"], capture_output=True, text=True, timeout=240,
                           env={"CHAIN_DEMO_DIR": str(tmp_path), "CHAIN_DEMO_ONESHOT": "1", "PATH": "/usr/bin:/bin"},
                           cwd=Path(__file__).resolve().parents[2])
    assert again.returncode == 0, again.stderr
    assert urls["item sold"] in again.stdout, "a second run reuses the seeded items"
    later = re.search(r": committed in block (\d+) \(SUCCESS\)", again.stdout)
    assert later and int(later[1]) > 2  # a second run reuses the consortium and its ledgers
    assert "retailer-1 now holds 50 (dry run)" in again.stdout
    assert "5 readings accepted (0 duplicates), 10 committed in all" in again.stdout, again.stdout
