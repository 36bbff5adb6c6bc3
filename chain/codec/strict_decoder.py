"""Byte-by-byte validating decoder: the normative implementation of docs/encoding.md.

It walks the input once, left to right, and stops at the first defect with the
error code and byte offset the specification assigns to it. Every limit is
checked against the header before anything is allocated: a declared length or
count can never exceed the bytes that remain, so a 9-byte header cannot make
it reserve memory. ``chain.codec.decoder.decode`` runs a faster cbor2-based path
first and falls back to this module for every input that path does not accept,
so all decode errors come from here.

Checks at each item, in this order (the order fixes which code is reported when
an input has several defects):

1. no byte left where an item must start -> truncated
2. additional information 28..30 -> malformed
3. additional information 31: break (0xff) -> malformed; indefinite length for
   major types 2..5 -> non_canonical; major types 0, 1, 6 -> malformed
4. major type 7: false/true/null accepted; 0xf8 needs one more byte (truncated),
   below 32 -> malformed, otherwise -> unsupported_type; floats (0xf9..0xfb),
   undefined and every other simple value -> unsupported_type
5. major type 6 (tag) -> unsupported_type
6. argument bytes missing -> truncated; argument not in shortest form -> non_canonical
7. strings: declared length beyond the input -> truncated; invalid UTF-8 -> invalid_utf8
8. arrays/maps: depth -> too_deep; entry count over max_items -> too_large;
   count beyond the remaining bytes (1 byte per item, 2 per map entry) -> truncated
9. map keys, after each key is decoded: not int/text/bytes -> unsupported_type;
   already present -> duplicate_key; not greater than the previous key
   (bytewise) -> unsorted_keys
"""

from __future__ import annotations

from chain.codec.errors import DecodeError, ErrorCode, abbreviate
from chain.codec.model import Value

# Smallest argument value that legitimately needs each argument width.
_MIN_FOR_WIDTH = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}
_MAJOR_NAMES = (
    "unsigned integer",
    "negative integer",
    "byte string",
    "text string",
    "array",
    "map",
    "tag",
    "simple/float",
)
_FLOAT_NAMES = {25: "half-precision float", 26: "single-precision float", 27: "double-precision float"}


def _fail(code: ErrorCode, offset: int, detail: str) -> DecodeError:
    """Build a DecodeError at a byte offset."""
    return DecodeError(code, detail, offset=offset)


class _StrictReader:
    """One decoding pass over an immutable buffer with fixed limits."""

    __slots__ = ("data", "end", "max_depth", "max_items")

    def __init__(self, data: bytes, max_depth: int, max_items: int) -> None:
        self.data = data
        self.end = len(data)
        self.max_depth = max_depth
        self.max_items = max_items

    def item(self, pos: int, depth: int) -> tuple[Value, int]:
        """Decode the item starting at ``pos`` inside ``depth`` containers; return it and the next offset."""
        data = self.data
        if pos >= self.end:
            raise _fail(ErrorCode.TRUNCATED, pos, "input ends where a data item should start")
        initial = data[pos]
        major = initial >> 5
        info = initial & 0x1F
        if 28 <= info <= 30:
            raise _fail(
                ErrorCode.MALFORMED,
                pos,
                f"reserved additional information {info} (initial byte 0x{initial:02x})",
            )
        if info == 31:
            if major == 7:
                raise _fail(ErrorCode.MALFORMED, pos, "break stop code outside an indefinite-length item")
            if 2 <= major <= 5:
                raise _fail(
                    ErrorCode.NON_CANONICAL, pos, f"indefinite-length {_MAJOR_NAMES[major]} not allowed"
                )
            raise _fail(
                ErrorCode.MALFORMED, pos, f"additional information 31 is invalid for {_MAJOR_NAMES[major]}"
            )
        if major == 7:
            return self.simple(pos, initial, info)
        if major == 6:
            raise _fail(ErrorCode.UNSUPPORTED_TYPE, pos, "tags are not allowed")
        n, body = self.argument(pos, info)
        if major == 0:
            return n, body
        if major == 1:
            return -1 - n, body
        if major == 2 or major == 3:
            stop = body + n
            if stop > self.end:
                raise _fail(
                    ErrorCode.TRUNCATED, pos, f"{_MAJOR_NAMES[major]} of {n} bytes runs past the end of input"
                )
            raw = data[body:stop]
            if major == 2:
                return raw, stop
            try:
                return raw.decode("utf-8"), stop
            except UnicodeDecodeError as exc:
                raise _fail(
                    ErrorCode.INVALID_UTF8, body + exc.start, "text string is not valid UTF-8"
                ) from None
        if major == 4:
            return self.array(pos, body, n, depth)
        return self.map(pos, body, n, depth)

    def argument(self, pos: int, info: int) -> tuple[int, int]:
        """Read the argument of the head at ``pos``; return it and the offset after the head."""
        if info < 24:
            return info, pos + 1
        width = 1 << (info - 24)
        body = pos + 1 + width
        if body > self.end:
            raise _fail(
                ErrorCode.TRUNCATED, pos, f"head needs a {width}-byte argument after the initial byte"
            )
        n = int.from_bytes(self.data[pos + 1 : body], "big")
        if n < _MIN_FOR_WIDTH[info]:
            raise _fail(
                ErrorCode.NON_CANONICAL,
                pos,
                f"argument {n} in a {width}-byte form is not the shortest encoding",
            )
        return n, body

    def simple(self, pos: int, initial: int, info: int) -> tuple[Value, int]:
        """Decode major type 7: only false, true and null are allowed."""
        if initial == 0xF4:
            return False, pos + 1
        if initial == 0xF5:
            return True, pos + 1
        if initial == 0xF6:
            return None, pos + 1
        if info == 24:
            if pos + 1 >= self.end:
                raise _fail(ErrorCode.TRUNCATED, pos, "simple value needs one more byte")
            value = self.data[pos + 1]
            if value < 32:
                raise _fail(ErrorCode.MALFORMED, pos, f"simple value {value} must use the one-byte form")
            raise _fail(ErrorCode.UNSUPPORTED_TYPE, pos, f"simple value {value} not allowed")
        if info in _FLOAT_NAMES:
            raise _fail(ErrorCode.UNSUPPORTED_TYPE, pos, f"{_FLOAT_NAMES[info]} not allowed")
        if info == 23:
            raise _fail(ErrorCode.UNSUPPORTED_TYPE, pos, "undefined not allowed")
        raise _fail(ErrorCode.UNSUPPORTED_TYPE, pos, f"simple value {info} not allowed")

    def container_checks(self, pos: int, body: int, n: int, depth: int, min_bytes: int, kind: str) -> None:
        """Apply depth, count and remaining-bytes checks before allocating a container."""
        if depth >= self.max_depth:
            raise _fail(ErrorCode.TOO_DEEP, pos, f"{kind} nested deeper than {self.max_depth}")
        if n > self.max_items:
            raise _fail(ErrorCode.TOO_LARGE, pos, f"{kind} of {n} entries exceeds limit {self.max_items}")
        if n * min_bytes > self.end - body:
            raise _fail(
                ErrorCode.TRUNCATED,
                pos,
                f"{kind} of {n} entries cannot fit in the {self.end - body} bytes left",
            )

    def array(self, pos: int, body: int, n: int, depth: int) -> tuple[Value, int]:
        """Decode ``n`` array items starting at ``body``."""
        self.container_checks(pos, body, n, depth, 1, "array")
        items: list[Value] = []
        inner = depth + 1
        for _ in range(n):
            value, body = self.item(body, inner)
            items.append(value)
        return items, body

    def map(self, pos: int, body: int, n: int, depth: int) -> tuple[Value, int]:
        """Decode ``n`` map entries starting at ``body``, enforcing key type, uniqueness and order."""
        self.container_checks(pos, body, n, depth, 2, "map")
        entries: dict[int | str | bytes, Value] = {}
        inner = depth + 1
        previous = b""
        for index in range(n):
            key_start = body
            key, body = self.item(body, inner)
            if type(key) is not int and type(key) is not str and type(key) is not bytes:
                raise _fail(
                    ErrorCode.UNSUPPORTED_TYPE, key_start, f"map key of type {type(key).__name__} not allowed"
                )
            if key in entries:
                raise _fail(ErrorCode.DUPLICATE_KEY, key_start, f"duplicate map key {abbreviate(key)}")
            encoded_key = self.data[key_start:body]
            if index and encoded_key <= previous:
                raise _fail(
                    ErrorCode.UNSORTED_KEYS, key_start, f"map key {abbreviate(key)} is not in bytewise order"
                )
            previous = encoded_key
            value, body = self.item(body, inner)
            entries[key] = value
        return entries, body


def strict_decode(data: bytes, *, max_size: int, max_depth: int, max_items: int) -> Value:
    """Decode one canonical item occupying all of ``data``, or raise DecodeError at the first defect."""
    if len(data) > max_size:
        raise _fail(ErrorCode.TOO_LARGE, 0, f"input of {len(data)} bytes exceeds limit {max_size}")
    reader = _StrictReader(data, max_depth, max_items)
    value, end = reader.item(0, 0)
    extra = len(data) - end
    if extra:
        raise _fail(
            ErrorCode.TRAILING_BYTES, end, f"{extra} byte{'s' if extra > 1 else ''} after the data item"
        )
    return value
