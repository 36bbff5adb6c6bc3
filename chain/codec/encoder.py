"""Deterministic CBOR encoder (RFC 8949 section 4.2.1, "Core Deterministic Encoding").

Why pure Python rather than ``cbor2.dumps``: cbor2 encodes any Sequence,
Mapping or subclass it meets (deque, range, OrderedDict, IntEnum, ...) and its
canonical mode sorts map keys length-first (RFC 7049), not bytewise as RFC 8949
requires. Validating the input in Python and then calling cbor2 measured slower
than this encoder, which validates and writes in one walk.

Rules applied: shortest argument form, definite lengths only, map entries sorted
by the bytewise lexicographic order of their encoded keys, no floats, tags or
simple values other than false/true/null. Errors name the path of the
offending element; the path is assembled only when an error propagates, so the
success path pays nothing for it.
"""

from __future__ import annotations

import struct
from operator import itemgetter
from typing import Any, Sequence

from chain.codec.errors import EncodeError, ErrorCode, abbreviate
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE, check_limits
from chain.codec.model import NINT_MIN, UINT_MAX

_pack16 = struct.Struct(">H").pack
_pack32 = struct.Struct(">I").pack
_pack64 = struct.Struct(">Q").pack
_first = itemgetter(0)


class _Refusal(Exception):
    """Internal: an element cannot be encoded; path segments are added while unwinding."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.segments: list[str] = []

    def to_error(self) -> EncodeError:
        """Convert to the public error with the full path."""
        path = "$" + "".join(reversed(self.segments))
        return EncodeError(self.code, self.detail, path=path)


def encode(
    obj: object,
    *,
    max_size: int = MAX_SIZE,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
) -> bytes:
    """Return the deterministic CBOR encoding of ``obj`` or raise EncodeError naming the path."""
    check_limits(max_size, max_depth, max_items)
    out = encode_into(obj, max_depth, max_items)
    if len(out) > max_size:
        raise EncodeError(
            ErrorCode.TOO_LARGE,
            f"encoding is {len(out)} bytes, limit is {max_size}",
            path="$",
        )
    return bytes(out)


def join_array(items: Sequence[bytes], *, max_size: int = MAX_SIZE, max_items: int = MAX_ITEMS) -> bytes:
    """The encoding of an array from its items' own canonical encodings (each one complete item).

    Equal to ``encode`` of the decoded items when they nest less deeply than the
    depth limit: an array is its head followed by its items' bytes. Saves encoding
    values twice when their bytes are needed alone too (receipts: hashed one by one,
    stored as one array).
    """
    check_limits(max_size, MAX_DEPTH, max_items)
    if len(items) > max_items:
        raise EncodeError(ErrorCode.TOO_LARGE, f"array of {len(items)} entries exceeds limit {max_items}", path="$")
    out = bytearray()
    _head(out, 0x80, len(items))
    out += b"".join(items)
    if len(out) > max_size:
        raise EncodeError(ErrorCode.TOO_LARGE, f"encoding is {len(out)} bytes, limit is {max_size}", path="$")
    return bytes(out)


def encode_into(obj: object, max_depth: int, max_items: int) -> bytearray:
    """Encode without the size limit into a fresh bytearray (shared with the decoder's check)."""
    out = bytearray()
    try:
        _item(obj, out, max_depth, max_items)
    except _Refusal as refusal:
        raise refusal.to_error() from None
    return out


def _head(out: bytearray, major: int, n: int) -> None:
    """Append an initial byte plus the shortest argument encoding of ``n``."""
    if n < 24:
        out.append(major | n)
    elif n < 0x100:
        out.append(major | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major | 25)
        out += _pack16(n)
    elif n < 0x100000000:
        out.append(major | 26)
        out += _pack32(n)
    else:
        out.append(major | 27)
        out += _pack64(n)


def _int(out: bytearray, value: int) -> None:
    """Append an integer, refusing values outside the 64-bit CBOR range."""
    if value >= 0:
        if value > UINT_MAX:
            raise _Refusal(ErrorCode.UNSUPPORTED_TYPE, _int_range_detail(value))
        _head(out, 0x00, value)
    else:
        if value < NINT_MIN:
            raise _Refusal(ErrorCode.UNSUPPORTED_TYPE, _int_range_detail(value))
        _head(out, 0x20, -1 - value)


def _int_range_detail(value: int) -> str:
    """Describe an out-of-range int without printing a possibly huge number."""
    return f"int of {value.bit_length()} bits out of range [-2**64, 2**64-1] (bignum tags are not allowed)"


def _text(value: str) -> bytes:
    """UTF-8 encode text, refusing lone surrogates (not valid Unicode scalar values)."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Refusal(
            ErrorCode.INVALID_UTF8,
            f"text is not valid Unicode (lone surrogate at index {exc.start})",
        ) from None


def _unsupported(value: object) -> _Refusal:
    """Build the refusal for a Python value outside the data model."""
    name = type(value).__name__
    for base in (bool, int, str, bytes, list, tuple, dict):
        if isinstance(value, base):
            return _Refusal(
                ErrorCode.UNSUPPORTED_TYPE,
                f"{name} not allowed (subclass of {base.__name__}; convert explicitly)",
            )
    return _Refusal(ErrorCode.UNSUPPORTED_TYPE, f"{name} not allowed")


def _key_segment(key: object) -> str:
    """Render a map key as a path segment: ``.name`` for identifiers, else ``[repr]``."""
    if type(key) is str and key.isidentifier():
        return f".{key}"
    return f"[{abbreviate(key)}]"


def _item(obj: Any, out: bytearray, depth_left: int, max_items: int) -> None:
    """Append one data item."""
    t = type(obj)
    if t is list or t is tuple:
        _array(obj, out, depth_left, max_items)
    elif t is bytes:
        _head(out, 0x40, len(obj))
        out += obj
    elif t is int:
        _int(out, obj)
    elif t is str:
        data = _text(obj)
        _head(out, 0x60, len(data))
        out += data
    elif t is dict:
        _map(obj, out, depth_left, max_items)
    elif obj is None:
        out.append(0xF6)
    elif obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    else:
        raise _unsupported(obj)


def _container_checks(n: int, depth_left: int, max_items: int, kind: str) -> None:
    """Enforce depth and entry-count limits before writing a container."""
    if depth_left <= 0:
        raise _Refusal(ErrorCode.TOO_DEEP, f"{kind} nested deeper than the depth limit")
    if n > max_items:
        raise _Refusal(ErrorCode.TOO_LARGE, f"{kind} of {n} entries exceeds limit {max_items}")


def _array(obj: Any, out: bytearray, depth_left: int, max_items: int) -> None:
    """Append an array; the common element types are handled inline, saving a call each (hot path)."""
    n = len(obj)
    if depth_left <= 0 or n > max_items:
        _container_checks(n, depth_left, max_items, "array")
    if n < 24:
        out.append(0x80 | n)
    else:
        _head(out, 0x80, n)
    inner = depth_left - 1
    x: Any = None
    try:
        for x in obj:
            tx = type(x)
            if tx is bytes:
                n = len(x)
                if n < 24:
                    out.append(0x40 | n)
                else:
                    _head(out, 0x40, n)
                out += x
            elif tx is int:
                if 0 <= x < 24:
                    out.append(x)
                else:
                    _int(out, x)
            elif tx is list or tx is tuple:
                _array(x, out, inner, max_items)
            else:
                _item(x, out, inner, max_items)
    except _Refusal as refusal:
        # The loop variable still holds the failing element. An identical object
        # earlier in the array would have failed the same way first, so the first
        # identity match is the failing index.
        index = next(i for i, y in enumerate(obj) if y is x)
        refusal.segments.append(f"[{index}]")
        raise


def _map(obj: Any, out: bytearray, depth_left: int, max_items: int) -> None:
    """Append a map with entries sorted by the bytewise order of their encoded keys."""
    n = len(obj)
    _container_checks(n, depth_left, max_items, "map")
    _head(out, 0xA0, n)
    entries: list[tuple[bytes, object, object]] = []
    for key, value in obj.items():
        tk = type(key)
        if tk is int or tk is str or tk is bytes:
            encoded = bytearray()
            try:
                _item(key, encoded, 0, 0)
            except _Refusal as refusal:
                refusal.detail = f"map key: {refusal.detail}"
                raise
            entries.append((bytes(encoded), key, value))
        else:
            raise _Refusal(
                ErrorCode.UNSUPPORTED_TYPE,
                f"map key {abbreviate(key)} of type {tk.__name__} not allowed (keys are int, str or bytes)",
            )
    entries.sort(key=_first)
    inner = depth_left - 1
    for encoded_key, key, value in entries:
        out += encoded_key
        try:
            _item(value, out, inner, max_items)
        except _Refusal as refusal:
            refusal.segments.append(_key_segment(key))
            raise
