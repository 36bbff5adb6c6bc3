"""Encoder behaviour: deterministic output, refusals named by path, limits."""

from __future__ import annotations

import collections
import enum
from decimal import Decimal

import cbor2
import pytest

from chain.codec import EncodeError, ErrorCode, encode
from chain.codec.limits import MAX_DEPTH


class Colour(enum.IntEnum):
    RED = 1


def test_tuples_and_lists_encode_identically() -> None:
    assert encode((1, (2, b"x"))) == encode([1, [2, b"x"]]) == bytes.fromhex("820182024178")


def test_map_insertion_order_does_not_matter() -> None:
    forward = {"b": 1, 1000: 2, b"": 3, -1: 4, "a": 5}
    backward = dict(reversed(list(forward.items())))
    assert encode(forward) == encode(backward)


def test_map_keys_are_sorted_bytewise_not_length_first() -> None:
    value = {"a": 1, 1000: 2}
    assert encode(value).hex() == "a21903e802616101"
    assert cbor2.dumps(value, canonical=True).hex() == "a26161011903e802"


def test_output_matches_cbor2_for_map_free_values() -> None:
    value = [0, 23, 24, 2**64 - 1, -(2**64), b"x" * 300, "ü" * 30, [None, True, False], list(range(30))]
    assert encode(value) == cbor2.dumps(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "$: float not allowed"),
        ([0, [1, 2.0]], "$[1][1]: float not allowed"),
        ({"ops": [1, 2, {"value": 1.5}]}, "$.ops[2].value: float not allowed"),
        ({"not an identifier": {1}}, "$['not an identifier']: set not allowed"),
        ({7: frozenset()}, "$[7]: frozenset not allowed"),
        ({b"k": Decimal(1)}, "$[b'k']: Decimal not allowed"),
        ([cbor2.CBORTag(1, 0)], "$[0]: CBORTag not allowed"),
        ([cbor2.undefined], "$[0]: UndefinedType not allowed"),
        ([cbor2.CBORSimpleValue(16)], "$[0]: CBORSimpleValue not allowed"),
        ([bytearray(b"x")], "$[0]: bytearray not allowed"),
        ([range(3)], "$[0]: range not allowed"),
        ([Colour.RED], "$[0]: Colour not allowed (subclass of int; convert explicitly)"),
        (collections.OrderedDict(a=1), "$: OrderedDict not allowed (subclass of dict; convert explicitly)"),
    ],
)
def test_unsupported_values_are_refused_with_their_path(value: object, message: str) -> None:
    with pytest.raises(EncodeError) as caught:
        encode(value)
    assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE
    assert str(caught.value) == message


def test_the_index_reported_is_that_of_the_failing_element() -> None:
    shared = [0.5]
    with pytest.raises(EncodeError) as caught:
        encode([1, 2, [3], shared, shared])
    assert caught.value.path == "$[3][0]"


@pytest.mark.parametrize("key", [1.0, True, None, (1,), frozenset()])
def test_map_keys_other_than_int_text_bytes_are_refused(key: object) -> None:
    with pytest.raises(EncodeError) as caught:
        encode({"m": {key: 1}})
    assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE
    assert caught.value.path == "$.m"
    assert "map key" in str(caught.value)


@pytest.mark.parametrize("value", [2**64, -(2**64) - 1, 10**5000], ids=["2**64", "-2**64-1", "10**5000"])
def test_ints_outside_the_64_bit_range_are_refused(value: int) -> None:
    with pytest.raises(EncodeError) as caught:
        encode({"amount": value})
    assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE
    assert str(caught.value).startswith("$.amount: int of")


def test_out_of_range_int_key_is_refused() -> None:
    with pytest.raises(EncodeError) as caught:
        encode({2**64: 1})
    assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE
    assert "map key" in str(caught.value)


def test_lone_surrogates_are_refused_as_invalid_utf8() -> None:
    with pytest.raises(EncodeError) as caught:
        encode(["ok", "bad \ud800"])
    assert caught.value.code == ErrorCode.INVALID_UTF8
    assert caught.value.path == "$[1]"


def test_nesting_beyond_the_depth_limit_is_refused() -> None:
    value: list[object] = []
    for _ in range(MAX_DEPTH - 1):
        value = [value]
    encode(value)
    with pytest.raises(EncodeError) as caught:
        encode([value])
    assert caught.value.code == ErrorCode.TOO_DEEP


def test_cyclic_structures_are_refused_as_too_deep() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(EncodeError) as caught:
        encode(cycle)
    assert caught.value.code == ErrorCode.TOO_DEEP


def test_containers_over_max_items_are_refused() -> None:
    encode([0, 0], max_items=2)
    with pytest.raises(EncodeError) as caught:
        encode({"x": [0, 0, 0]}, max_items=2)
    assert caught.value.code == ErrorCode.TOO_LARGE
    assert caught.value.path == "$.x"


def test_output_over_max_size_is_refused() -> None:
    assert encode(b"abc", max_size=4) == b"Cabc"
    with pytest.raises(EncodeError) as caught:
        encode(b"abcd", max_size=4)
    assert caught.value.code == ErrorCode.TOO_LARGE


@pytest.mark.parametrize("limits", [{"max_size": -1}, {"max_depth": 10_000}, {"max_items": 1.5}])
def test_nonsensical_limits_are_programming_errors(limits: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        encode(1, **limits)  # type: ignore[arg-type]
    assert not isinstance(caught.value, EncodeError)


def test_encode_error_is_a_value_error_with_a_stable_code() -> None:
    with pytest.raises(ValueError) as caught:
        encode(1.0)
    assert isinstance(caught.value, EncodeError)
    assert caught.value.code == "unsupported_type"
