"""The codec's data model: which Python values map to which CBOR items.

Deliberately small so that every value has exactly one encoding and any
language can represent it: integers in the 64-bit CBOR range, byte strings,
text strings, arrays, maps keyed by integers/text/bytes, booleans and null.
Exact types only (no subclasses such as IntEnum or OrderedDict): a subclass
could carry meaning the bytes cannot, so callers convert explicitly.
"""

from __future__ import annotations

from typing import TypeAlias

#: Largest integer (major type 0 with an 8-byte argument).
UINT_MAX = 2**64 - 1
#: Smallest integer (major type 1 with an 8-byte argument: -1 - (2**64 - 1)).
NINT_MIN = -(2**64)

Key: TypeAlias = int | str | bytes
"""Allowed map key types."""

Value: TypeAlias = bool | int | str | bytes | list["Value"] | tuple["Value", ...] | dict[Key, "Value"] | None
"""A value the codec can encode; decoding yields the same minus tuples (arrays decode to list)."""
