"""Load the published codec test vectors and convert their typed-JSON values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).resolve().parents[2] / "vectors"


def load_vectors(name: str) -> list[dict[str, Any]]:
    """Return the ``vectors`` list of ``tests/vectors/<name>.json``."""
    with open(VECTOR_DIR / f"{name}.json", encoding="utf-8") as handle:
        return list(json.load(handle)["vectors"])


def from_typed_json(node: dict[str, Any]) -> object:
    """Convert a typed-JSON value (docs/encoding.md, 'Test vectors') to a Python value."""
    ((kind, payload),) = node.items()
    if kind == "int":
        return int(payload)
    if kind == "bytes":
        return bytes.fromhex(payload)
    if kind == "text":
        return payload
    if kind == "bool":
        return bool(payload)
    if kind == "null":
        return None
    if kind == "array":
        return [from_typed_json(item) for item in payload]
    if kind == "map":
        return {from_typed_json(key): from_typed_json(value) for key, value in payload}
    raise ValueError(f"unknown typed-JSON kind {kind!r}")


def diagnostic(node: dict[str, Any]) -> str:
    """Render a typed-JSON value in RFC 8949 diagnostic notation (pairs in listed order)."""
    ((kind, payload),) = node.items()
    if kind == "int":
        return str(int(payload))
    if kind == "bytes":
        return f"h'{payload}'"
    if kind == "text":
        return json.dumps(payload, ensure_ascii=False)
    if kind == "bool":
        return "true" if payload else "false"
    if kind == "null":
        return "null"
    if kind == "array":
        return "[" + ", ".join(diagnostic(item) for item in payload) + "]"
    if kind == "map":
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in payload) + "}"
    raise ValueError(f"unknown typed-JSON kind {kind!r}")
