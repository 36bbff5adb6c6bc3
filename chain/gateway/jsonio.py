"""JSON at the HTTP edge: bytes as lowercase hex, addresses as text, dataclasses by field name; errors name the field."""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from chain.gateway.errors import bad_request


def to_json(value: Any) -> Any:
    """Bytes to hex (recursively); dataclasses to dicts; enums to their names."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {(k.hex() if isinstance(k, bytes) else str(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def value_to_json(value: Any) -> Any:
    """A contract value for JSON: bytes as {"hex": ...} so they stay distinguishable from text."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, dict):
        return {(k.hex() if isinstance(k, bytes) else str(k)): value_to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [value_to_json(v) for v in value]
    return value


def value_from_json(value: Any, field: str) -> Any:
    """A contract value from JSON ({"hex": ...} for bytes; floats refused)."""
    if isinstance(value, float):
        raise bad_request("floats are not contract values; use integers", field)
    if isinstance(value, dict):
        if set(value) == {"hex"} and isinstance(value["hex"], str):
            return hex_bytes(value["hex"], field)
        return {k: value_from_json(v, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [value_from_json(v, f"{field}[{i}]") for i, v in enumerate(value)]
    return value


def hex_bytes(text: Any, field: str, length: int | None = None) -> bytes:
    """Bytes from a hex string, or a 400 naming the field."""
    if not isinstance(text, str):
        raise bad_request("expected a hex string", field)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise bad_request("not hexadecimal", field) from None
    if length is not None and len(raw) != length:
        raise bad_request(f"expected {length} bytes, got {len(raw)}", field)
    return raw


def from_json(tp: Any, value: Any, field: str) -> Any:
    """Build a value of type tp (dataclass, tuple, enum, bytes, ...) from JSON, naming the field of any error."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        return from_json(inner[0], value, field)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise bad_request("expected an array", field)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v, f"{field}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise bad_request(f"expected {len(args)} items", field)
        return tuple(from_json(a, v, f"{field}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if dataclasses.is_dataclass(tp):
        return dataclass_from_json(tp, value, field)
    if isinstance(tp, type) and issubclass(tp, enum.IntEnum):
        if isinstance(value, str) and value in tp.__members__:
            return tp[value]
        if isinstance(value, int) and not isinstance(value, bool) and value in {m.value for m in tp}:
            return tp(value)
        raise bad_request(f"expected one of {', '.join(tp.__members__)}", field)
    if tp is bytes:
        return hex_bytes(value, field)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad_request("expected true or false", field)
        return value
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**64:
            raise bad_request("expected an integer in the 64-bit range", field)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise bad_request("expected a string", field)
        return value
    raise bad_request(f"unsupported field type {tp!r}", field)


def dataclass_from_json(cls: Any, value: Any, field: str) -> Any:
    """A dataclass from a JSON object keyed by field name (fields with defaults may be left out)."""
    if not isinstance(value, dict):
        raise bad_request("expected an object", field)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known - {"type"})
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}", f"{field}.{unknown[0]}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        where = f"{field}.{f.name}"
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise bad_request("missing", where)
            continue
        kwargs[f.name] = from_json(hints[f.name], value[f.name], where)
    return cls(**kwargs)
