"""Contract values and their canonical CBOR: round trips, RFC 8949 key order, refusal of anything else."""
from __future__ import annotations

import time
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.codec import encode as ledger_encode
from chain.contracts import ValueEncodingError, decode_value, encode_args, encode_value
from chain.contracts.values import MAX_DEPTH, conforms, decode_args, type_name
from tests.strategies import cbor_values, contract_values


def same(a: Any, b: Any) -> bool:
    """Equal with identical types all the way down (True == 1 in Python, but not as contract values)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return len(a) == len(b) and all(any(same(k, j) for j in b) and same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=60, deadline=None)
@given(contract_values(max_leaves=10))
def test_values_round_trip_through_canonical_cbor(value: object) -> None:
    raw = encode_value(value)
    decoded = decode_value(raw)
    assert same(decoded, value)
    assert encode_value(decoded) == raw


@settings(max_examples=40, deadline=None)
@given(cbor_values(max_leaves=10))
def test_encoding_matches_the_ledger_codec_within_its_data_model(value: object) -> None:
    # both claim RFC 8949 section 4.2.1 deterministic encoding: keys in bytewise order of their encodings
    assert encode_value(value) == ledger_encode(value)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=4), st.binary(max_size=4)),
                       st.integers(), min_size=2, max_size=8))
def test_dict_encoding_does_not_depend_on_insertion_order(value: dict[Any, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert encode_value(reordered) == encode_value(value)


def test_map_keys_are_in_bytewise_order_of_their_encodings() -> None:
    # 24 encodes as 18 18, -1 as 20: bytewise 24 comes first (length-first ordering would put -1 first)
    assert encode_value({-1: 0, 24: 0}).hex() == "a21818002000"
    assert encode_value({"b": 0, b"\x00\x00": 0}).hex() == "a242000000616200"
    with pytest.raises(ValueEncodingError, match="canonical"):
        decode_value(bytes.fromhex("a22000181800"))  # the length-first order


@pytest.mark.parametrize("value", [2**64 - 1, 2**64, -(2**64), -(2**64) - 1, 2**1024, -(2**1024), 10**300])
def test_integers_beyond_64_bits_are_bignums_and_round_trip(value: int) -> None:
    raw = encode_value(value)
    if -(2**64) <= value < 2**64:
        assert raw[0] >> 5 in (0, 1)  # major type 0 or 1
    else:
        assert raw[0] == (0xC2 if value > 0 else 0xC3)  # tag 2 or 3
    assert decode_value(raw) == value


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


NOT_CANONICAL = {
    "integer with a longer head than needed": "18 05",
    "negative integer with a longer head than needed": "38 00",
    "indefinite-length array": "9f 01 ff",
    "indefinite-length text": "7f 61 61 ff",
    "indefinite-length map": "bf 61 61 01 ff",
    "map keys out of order": "a2 61 62 01 61 61 02",
    "duplicate map keys": "a2 61 61 01 61 61 02",
    "bignum for a value that fits 64 bits": "c2 41 01",
    "bignum with a leading zero byte": "c2 4a 00 01 00 00 00 00 00 00 00 00",
    "text length with a longer head than needed": "78 01 61",
    "trailing bytes after the value": "01 01",
}


@pytest.mark.parametrize("raw", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_decode_refuses_non_canonical_cbor(raw: str) -> None:
    with pytest.raises(ValueEncodingError):
        decode_value(_hex(raw))


NOT_CONTRACT_VALUES = {
    "half float": "f9 3c 00",
    "single float": "fa 3f 80 00 00",
    "double float": "fb 3f f0 00 00 00 00 00 00",
    "undefined": "f7",
    "simple value 0": "e0",
    "simple value 32": "f8 20",
    "tag 0 date text": "c0 74 323031332d30332d32315432303a30343a30305a",
    "tag 1 epoch time": "c1 1a 5f 5e 10 00",
    "tag 4 decimal fraction": "c4 82 21 19 6a b3",
    "tag 24 embedded cbor": "d8 18 41 01",
    "tag 30 rational": "d8 1e 82 01 02",
    "tag 35 regular expression": "d8 23 63 61 2e 2a",
    "tag 37 uuid": "d8 25 50" + " 00" * 16,
    "tag 258 set": "d9 01 02 82 01 02",
    "tag 55799 self-describe": "d9 d9 f7 01",
    "unassigned tag": "da 00 01 00 00 01",
    "boolean map key": "a1 f5 01",
    "null map key": "a1 f6 01",
    "array map key": "a1 82 01 02 03",
    "string reference": "d9 01 00 83 63 61 61 61 d8 19 00 d8 19 00",
    "shared reference": "d8 1c 82 01 d8 1d 00",
    "empty input": "",
    "truncated array": "82 01",
    "reserved additional info": "1c",
    "lone break": "ff",
}


@pytest.mark.parametrize("raw", NOT_CONTRACT_VALUES.values(), ids=NOT_CONTRACT_VALUES.keys())
def test_decode_refuses_floats_tags_sets_and_other_non_values(raw: str) -> None:
    with pytest.raises(ValueEncodingError):
        decode_value(_hex(raw))


def _uint(major: int, n: int) -> bytes:
    return bytes([major << 5 | n]) if n < 24 else bytes([major << 5 | 24, n])


def test_decode_refuses_a_small_encoding_of_a_huge_shared_tree_quickly() -> None:
    # shared references (tags 28/29): level k holds two references to level k-1, so 289 bytes stand for a tree
    # of 2**31 items, 31 levels deep (within the nesting limit); walking it as a tree would never end
    parts = [_uint(6, 28) + _uint(4, 2) + _uint(0, 1) + _uint(0, 1)]
    parts += [_uint(6, 28) + _uint(4, 2) + (_uint(6, 29) + _uint(0, k - 1)) * 2 for k in range(1, 31)]
    raw = _uint(4, len(parts)) + b"".join(parts)
    assert len(raw) < 300
    start = time.monotonic()
    with pytest.raises(ValueEncodingError, match="references"):
        decode_value(raw)
    with pytest.raises(ValueEncodingError):
        decode_args(raw)
    assert time.monotonic() - start < 1.0


def test_decode_refuses_a_self_referencing_array() -> None:
    with pytest.raises(ValueEncodingError):
        decode_value(_hex("d8 1c 81 d8 1d 00"))  # shareable [ <reference to itself> ]


def _nested_array(levels: int) -> bytes:
    return b"\x81" * levels + b"\x01"


def test_decode_accepts_nesting_up_to_the_limit_and_refuses_deeper() -> None:
    value = decode_value(_nested_array(MAX_DEPTH))
    for _ in range(MAX_DEPTH):
        value = value[0]
    assert value == 1
    with pytest.raises(ValueEncodingError, match="deeper"):
        decode_value(_nested_array(MAX_DEPTH + 1))
    with pytest.raises(ValueEncodingError):
        decode_value(_nested_array(100_000))  # far past the host's recursion limit


def test_decode_refuses_oversized_input_and_non_bytes() -> None:
    with pytest.raises(ValueEncodingError, match="limit"):
        decode_value(encode_value("x" * 100), max_bytes=50)
    with pytest.raises(ValueEncodingError):
        decode_value(bytearray(b"\x01"))  # type: ignore[arg-type]
    with pytest.raises(ValueEncodingError):
        decode_value("01")  # type: ignore[arg-type]


class _Opaque:
    pass


def _deep_list(levels: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(levels):
        value = [value]
    return value


NOT_ENCODABLE = {
    "float": 1.5,
    "nan": float("nan"),
    "set": {1, 2},
    "frozenset": frozenset({1}),
    "complex": 1j,
    "bytearray": bytearray(b"x"),
    "object": _Opaque(),
    "range": range(3),
    "float inside a list": [1, 2.0],
    "set inside a dict": {"k": {1}},
    "bool key": {True: 1},
    "none key": {None: 1},
    "tuple key": {(1, 2): 3},
    "float key": {1.5: 1},
    "nested past the limit": _deep_list(MAX_DEPTH + 1),
    "str subclass": type("Text", (str,), {})("x"),
    "int subclass": type("Number", (int,), {})(1),
}


@pytest.mark.parametrize("value", NOT_ENCODABLE.values(), ids=NOT_ENCODABLE.keys())
def test_encode_refuses_what_is_not_a_contract_value(value: object) -> None:
    with pytest.raises(ValueEncodingError):
        encode_value(value)


def test_tuples_encode_as_arrays_and_decode_as_lists() -> None:
    raw = encode_value((1, (2, "x")))
    assert raw == encode_value([1, [2, "x"]])
    assert same(decode_value(raw), [1, [2, "x"]])


def test_arguments_are_a_cbor_array() -> None:
    raw = encode_args(["bob", 10, 2**100])
    assert decode_args(raw) == ["bob", 10, 2**100]
    with pytest.raises(ValueEncodingError, match="array"):
        decode_args(encode_value({"a": 1}))
    assert cbor2.loads(encode_args(())) == []


def test_type_names_and_conformance_follow_the_abi() -> None:
    assert [type_name(v) for v in (None, True, 1, "s", b"b", [1], (1,), {1: 2})] == [
        "none", "bool", "int", "str", "bytes", "list", "tuple", "dict"]
    assert conforms(5, "int") and not conforms(True, "int")  # a bool is not an int argument
    assert conforms((1,), "list") and conforms([1], "list") and not conforms({}, "list")
    assert conforms(None, "none") and not conforms(0, "none")
    assert all(conforms(v, "any") for v in (None, 1, "x", [], {}))
