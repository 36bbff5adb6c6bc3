"""Canonical decoder: accepts exactly the bytes that ``encode`` produces.

Two paths, one answer. The fast path lets cbor2's native decoder build the
value (every tag routed to a hook that refuses it before any semantic decoding,
indefinite lengths and duplicate keys refused, nesting bounded) and then
re-encodes the value and compares bytes: equality proves the input is the
deterministic encoding of an allowed value within the limits, because the
encoder emits nothing else and canonical encoding is injective. Any failure or
mismatch, for whatever reason, hands the input to the strict decoder
(``chain.codec.strict_decoder``), which either finds the first defect and
reports it with its code and offset, or returns the value. The fast path is
therefore only an optimisation: it can be too strict, never too lenient.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import cbor2

from chain.codec.encoder import encode_into
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE, check_limits
from chain.codec.model import Value
from chain.codec.strict_decoder import strict_decode

log = logging.getLogger(__name__)


class _TagRefused(Exception):
    """Internal: the fast path met a tag; the strict decoder will report it."""


def _refuse_tag(*_args: object) -> NoReturn:
    """Semantic-decoder and tag hook that refuses every tag."""
    raise _TagRefused


class _EveryTag(Mapping[int, Callable[[Any, bool], Any]]):
    """A semantic-decoder table mapping every tag number to the refusing hook.

    Passing it to cbor2 replaces its built-in tag handlers (datetimes, bignums,
    shared references, regular expressions, ...), so untrusted input never
    reaches them.
    """

    def __getitem__(self, tag: int) -> Callable[[Any, bool], Any]:
        """Return the refusing hook for any tag."""
        return _refuse_tag

    def __contains__(self, tag: object) -> bool:
        """Claim every tag."""
        return True

    def __iter__(self) -> Iterator[int]:
        """Enumerate nothing: the table is conceptual."""
        return iter(())

    def __len__(self) -> int:
        """Report an empty table (lookups still succeed)."""
        return 0


_EVERY_TAG = _EveryTag()
_loads = cbor2.loads


def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_size: int = MAX_SIZE,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
) -> Value:
    """Decode one deterministic CBOR item that spans all of ``data``; raise DecodeError otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode() needs bytes, got {type(data).__name__}")
    check_limits(max_size, max_depth, max_items)
    if type(data) is not bytes:
        data = bytes(data)
    if len(data) <= max_size:
        try:
            value = _loads(
                data,
                semantic_decoders=_EVERY_TAG,
                tag_hook=_refuse_tag,
                max_depth=max_depth,
                allow_indefinite=False,
                allow_duplicate_keys=False,
            )
            if encode_into(value, max_depth, max_items) == data:
                return value  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001 - any fast-path failure defers to the strict decoder
            pass
    value = strict_decode(data, max_size=max_size, max_depth=max_depth, max_items=max_items)
    log.debug("fast decode path refused %d bytes the strict decoder accepts", len(data))
    return value
