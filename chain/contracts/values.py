"""Contract values and their canonical CBOR encoding (arguments, results, stored values, events).

Contract values are None, bool, int (any size up to the VM's integer limit;
outside the 64-bit range as RFC 8949 bignums, tags 2 and 3), str, bytes,
lists/tuples (encoded as arrays, decoded as lists) and dicts keyed by int, str
or bytes. Encoding is RFC 8949 section 4.2.1 deterministic CBOR; a decoder
refuses bytes that do not re-encode identically, floats and any other tag.
"""
from __future__ import annotations

from typing import Any

import cbor2

from chain.contracts.errors import ValueEncodingError

MAX_DEPTH = 32
_SCALARS = (type(None), bool, int, str, bytes)
_KEYS = (int, str, bytes)

TYPE_NAMES = {"any", "int", "str", "bytes", "bool", "list", "dict", "none"}


def type_name(value: object) -> str:
    """The dialect's name for a value's type."""
    if value is None:
        return "none"
    return {bool: "bool", int: "int", str: "str", bytes: "bytes", list: "list", tuple: "tuple", dict: "dict"}.get(
        type(value), type(value).__name__
    )


def check_value(value: object, depth: int = 0) -> None:
    """Refuse anything that is not a contract value (nesting at most MAX_DEPTH)."""
    if depth > MAX_DEPTH:
        raise ValueEncodingError(f"value nests deeper than {MAX_DEPTH} levels")
    tp = type(value)
    if tp in _SCALARS:
        return
    if tp is list or tp is tuple:
        for item in value:  # type: ignore[attr-defined]
            check_value(item, depth + 1)
        return
    if tp is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) not in _KEYS:
                raise ValueEncodingError(f"dict keys must be int, str or bytes, not {type_name(key)}")
            check_value(item, depth + 1)
        return
    raise ValueEncodingError(f"{type_name(value)} is not a contract value")


def encode_value(value: object) -> bytes:
    """Canonical CBOR of a contract value."""
    check_value(value)
    try:
        return cbor2.dumps(_in_key_order(value))
    except (cbor2.CBOREncodeError, ValueError, TypeError) as exc:
        raise ValueEncodingError(f"cannot encode value: {exc}") from None


def _in_key_order(value: Any) -> Any:
    """The value with every dict's keys in RFC 8949 section 4.2.1 order: bytewise order of their encodings.

    cbor2's canonical mode sorts shorter encodings first (RFC 7049's rule), which differs for keys such as
    24 and -1 (0x1818 < 0x20 bytewise); cbor2 otherwise writes dicts in iteration order, with shortest heads.
    """
    tp = type(value)
    if tp is dict:
        return {key: _in_key_order(value[key]) for key in sorted(value, key=cbor2.dumps)}
    if tp is list or tp is tuple:
        return [_in_key_order(item) for item in value]
    return value


def _refuse_tag(decoder: Any, tag: Any) -> Any:
    raise ValueEncodingError(f"CBOR tag {tag.tag} is not allowed in contract values")


def decode_value(raw: bytes, max_bytes: int = 1 << 20) -> Any:
    """Decode canonical CBOR into a contract value, refusing non-canonical bytes."""
    if type(raw) is not bytes:
        raise ValueEncodingError("encoded value must be bytes")
    if len(raw) > max_bytes:
        raise ValueEncodingError(f"encoded value is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        value = cbor2.loads(raw, tag_hook=_refuse_tag)
    except ValueEncodingError:
        raise
    except RecursionError:
        raise ValueEncodingError("encoded value nests too deeply") from None
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise ValueEncodingError(f"not CBOR: {type(exc).__name__}") from None
    _check_decoded_size(value, len(raw))
    check_value(value)
    if encode_value(value) != raw:
        raise ValueEncodingError("value is not in canonical CBOR (RFC 8949 section 4.2.1)")
    return value


def _check_decoded_size(value: object, size: int) -> None:
    """Refuse a decoded value larger than its encoding, before anything walks it recursively.

    Canonical CBOR spends at least one byte per item and the length of each string, so such a value was built
    through cbor2's shared or string references (tags 28/29, 25/256): a few hundred bytes can decode to a tree of
    2**30 items (or a cycle) sharing parts. The walk stops as soon as the count passes `size`.
    """
    total = 1
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        tp = type(item)
        if tp is str or tp is bytes:
            total += len(item)
        elif tp is list or tp is tuple or tp is dict:
            total += len(item) * (2 if tp is dict else 1)  # counted before the items are listed: the stack stays small
            if total <= size:
                stack.extend(item)
                if tp is dict:
                    stack.extend(item.values())
        if total > size:
            raise ValueEncodingError("value is larger than its encoding: shared and string references are not allowed")


def decode_args(raw: bytes) -> list[Any]:
    """Invocation arguments: a canonical CBOR array."""
    value = decode_value(raw)
    if type(value) is not list:
        raise ValueEncodingError("arguments must be a CBOR array")
    return value


def encode_args(args: list[Any] | tuple[Any, ...]) -> bytes:
    """Encode invocation arguments as a CBOR array."""
    return encode_value(list(args))


def conforms(value: object, type_text: str) -> bool:
    """True if a value fits a parameter or return type of the ABI."""
    if type_text == "any":
        return True
    if type_text == "int":
        return type(value) is int
    if type_text == "none":
        return value is None
    return type_name(value) == type_text or (type_text == "list" and type(value) is tuple)
