"""The traceability contract's source (restricted contract dialect; compiled to IR and deployed by the service)."""
from __future__ import annotations

from pathlib import Path

#: The name the contract is deployed under.
CONTRACT_NAME = "traceability"
SOURCE_PATH = Path(__file__).with_name("traceability.py")


def contract_source() -> str:
    """The contract's source text."""
    return SOURCE_PATH.read_text(encoding="utf-8")
