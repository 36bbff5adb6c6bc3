"""docs/operations.md shows the encoder's current output for every operation."""
from __future__ import annotations

from pathlib import Path

from chain.codec import decode
from chain.ledger.examples import EXAMPLES, example_rows
from chain.ledger.operations import OPERATION_CLASSES, operation_from_value

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def test_every_operation_has_an_example() -> None:
    assert {type(op) for op in EXAMPLES} == set(OPERATION_CLASSES.values())


def test_documented_hex_matches_the_encoder_and_decodes_back() -> None:
    text = DOC.read_text()
    for code, name, hexed in example_rows():
        assert f"| {code} | `{name}` | `{hexed}` |" in text, f"docs/operations.md is stale for {name}"
        op = operation_from_value(decode(bytes.fromhex(hexed)))
        assert type(op).__name__ == name
