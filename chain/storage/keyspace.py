"""Argument checks and key-range arithmetic shared by every engine.

Keys are non-empty byte strings of at most MAX_KEY_SIZE bytes, values byte
strings (possibly empty) of at most MAX_VALUE_SIZE bytes; bytearray and
memoryview are accepted and copied to bytes, anything else (str, int, None) is
refused, because silently encoding text would make two spellings of one key.
"""
from __future__ import annotations

from typing import Any

from chain.storage.errors import StorageArgumentError

MAX_KEY_SIZE = 64 * 1024
MAX_VALUE_SIZE = 64 * 1024 * 1024


def _as_bytes(data: Any, argument: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise StorageArgumentError(argument, f"must be bytes, not {type(data).__name__}")


def as_key(key: Any, argument: str = "key") -> bytes:
    """key as bytes; raises StorageArgumentError unless it is non-empty bytes of at most MAX_KEY_SIZE."""
    key = _as_bytes(key, argument)
    if not key:
        raise StorageArgumentError(argument, "must not be empty")
    if len(key) > MAX_KEY_SIZE:
        raise StorageArgumentError(argument, f"is {len(key)} bytes; the limit is {MAX_KEY_SIZE}")
    return key


def as_value(value: Any, argument: str = "value") -> bytes:
    """value as bytes; raises StorageArgumentError unless it is bytes of at most MAX_VALUE_SIZE."""
    value = _as_bytes(value, argument)
    if len(value) > MAX_VALUE_SIZE:
        raise StorageArgumentError(argument, f"is {len(value)} bytes; the limit is {MAX_VALUE_SIZE}")
    return value


def as_bound(bound: Any, argument: str) -> bytes | None:
    """An iteration bound (prefix, start or stop): None or bytes, possibly empty."""
    if bound is None:
        return None
    bound = _as_bytes(bound, argument)
    if len(bound) > MAX_KEY_SIZE:
        raise StorageArgumentError(argument, f"is {len(bound)} bytes; the limit is {MAX_KEY_SIZE}")
    return bound


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with prefix; None if there is none (all 0xff)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def key_range(prefix: Any, start: Any, stop: Any) -> tuple[bytes | None, bytes | None] | None:
    """Validate iterate() bounds and return (low inclusive, high exclusive), None meaning unbounded.

    The range is the intersection of "starts with prefix", ">= start" and
    "< stop"; the result is None when that intersection is certainly empty.
    """
    prefix_b = as_bound(prefix, "prefix") or b""
    start_b = as_bound(start, "start")
    stop_b = as_bound(stop, "stop")
    low = prefix_b or None
    if start_b and (low is None or start_b > low):
        low = start_b
    high = prefix_upper_bound(prefix_b) if prefix_b else None
    if stop_b is not None and (high is None or stop_b < high):
        high = stop_b
    if high is not None and (high == b"" or (low is not None and low >= high)):
        return None
    return low, high
