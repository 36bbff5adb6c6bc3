"""Property tests over the whole data model (strategies from tests/strategies.py)."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.codec import DecodeError, EncodeError, ErrorCode, decode, encode
from chain.codec.encoder import join_array
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE
from chain.codec.strict_decoder import strict_decode
from tests.strategies import cbor_values

from .cbor_layout import parse, walk


def _strict(data: bytes) -> object:
    return strict_decode(data, max_size=MAX_SIZE, max_depth=MAX_DEPTH, max_items=MAX_ITEMS)


def _outcome(func: object, data: bytes) -> tuple[str, object]:
    try:
        return ("value", func(data))  # type: ignore[operator]
    except DecodeError as error:
        return ("error", (error.code, error.offset))


def _presorted(value: object) -> object:
    """Rebuild maps in bytewise key order so that plain cbor2 output is deterministic."""
    if isinstance(value, list):
        return [_presorted(item) for item in value]
    if isinstance(value, dict):
        return {key: _presorted(value[key]) for key in sorted(value, key=cbor2.dumps)}
    return value


@given(cbor_values())
def test_decode_inverts_encode(value: object) -> None:
    assert decode(encode(value)) == value


@given(cbor_values())
def test_every_valid_encoding_reencodes_identically(value: object) -> None:
    data = encode(value)
    assert encode(decode(data)) == data
    assert encode(_strict(data)) == data


@given(cbor_values())
def test_encoding_agrees_with_an_independent_encoder(value: object) -> None:
    assert encode(value) == cbor2.dumps(_presorted(value))


@given(cbor_values())
def test_map_keys_are_strictly_increasing_bytewise(value: object) -> None:
    data = encode(value)
    for node in walk(parse(data)):
        if node.major == 5:
            keys = [data[key.start : key.end] for key in node.children[0::2]]
            assert keys == sorted(keys) and len(set(keys)) == len(keys)


@given(cbor_values(), st.data())
def test_fast_and_strict_decoders_agree_on_single_byte_corruptions(
    value: object, data: st.DataObject
) -> None:
    encoding = bytearray(encode(value))
    position = data.draw(st.integers(min_value=0, max_value=len(encoding) - 1))
    encoding[position] = data.draw(st.integers(min_value=0, max_value=255))
    corrupted = bytes(encoding)
    assert _outcome(decode, corrupted) == _outcome(_strict, corrupted)


@given(st.binary(max_size=64))
def test_fast_and_strict_decoders_agree_on_arbitrary_bytes(data: bytes) -> None:
    assert _outcome(decode, data) == _outcome(_strict, data)


@given(st.binary(max_size=64))
def test_anything_accepted_reencodes_to_the_same_bytes(data: bytes) -> None:
    try:
        value = decode(data)
    except DecodeError:
        return
    assert encode(value) == data


@given(
    cbor_values(),
    st.fixed_dictionaries(
        {},
        optional={
            "max_depth": st.integers(min_value=0, max_value=4),
            "max_items": st.integers(min_value=0, max_value=5),
            "max_size": st.integers(min_value=0, max_value=80),
        },
    ),
)
def test_encoder_and_decoder_enforce_the_same_limits(value: object, limits: dict[str, int]) -> None:
    unlimited = encode(value)
    try:
        data = encode(value, **limits)
    except EncodeError as error:
        assert error.code in (ErrorCode.TOO_DEEP, ErrorCode.TOO_LARGE)
        with pytest.raises(DecodeError) as caught:
            decode(unlimited, **limits)
        assert caught.value.code in (ErrorCode.TOO_DEEP, ErrorCode.TOO_LARGE)
    else:
        assert data == unlimited
        assert decode(data, **limits) == value


@given(st.lists(cbor_values(), max_size=30))
def test_an_array_joined_from_encoded_items_is_the_array_encoded(items: list[object]) -> None:
    assert join_array([encode(item) for item in items]) == encode(items)


def test_a_joined_array_keeps_the_limits() -> None:
    with pytest.raises(EncodeError) as size:
        join_array([encode(b"x" * 10)], max_size=10)
    with pytest.raises(EncodeError) as items:
        join_array([encode(1)] * 3, max_items=2)
    assert size.value.code == items.value.code == ErrorCode.TOO_LARGE
