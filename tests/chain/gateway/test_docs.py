"""docs/gateway.md lists every endpoint the gateway serves."""
from __future__ import annotations

from pathlib import Path

from chain.gateway.doc_table import rows

DOC = Path(__file__).resolve().parents[3] / "docs" / "gateway.md"


def test_every_endpoint_is_in_the_documented_table() -> None:
    text = DOC.read_text()
    for row in rows():
        assert row in text, f"docs/gateway.md is stale: run python -m chain.gateway.doc_table ({row})"
