"""Decoder behaviour: exact acceptance, error details, input types, resource limits."""

from __future__ import annotations

import pickle
import time
import tracemalloc

import pytest

from chain.codec import CodecError, DecodeError, ErrorCode, decode, encode
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE
from chain.codec.strict_decoder import strict_decode


def test_arrays_decode_to_lists_and_maps_to_dicts() -> None:
    assert decode(encode((1, (b"x", {"k": (None,)})))) == [1, [b"x", {"k": [None]}]]


def test_decoded_map_preserves_canonical_key_order() -> None:
    decoded = decode(encode({"a": 1, 1000: 2, -1: 3}))
    assert isinstance(decoded, dict) and list(decoded) == [1000, -1, "a"]


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_bytes_like_input_is_accepted(kind: type) -> None:
    assert decode(kind(bytes.fromhex("820102"))) == [1, 2]


@pytest.mark.parametrize("data", ["00", 0, None, [0]])
def test_non_bytes_input_is_a_type_error(data: object) -> None:
    with pytest.raises(TypeError):
        decode(data)  # type: ignore[arg-type]


def test_error_carries_code_offset_and_message() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(bytes.fromhex("84010219ffff1817"))
    error = caught.value
    assert isinstance(error, CodecError) and isinstance(error, ValueError)
    assert error.code == ErrorCode.NON_CANONICAL == "non_canonical"
    assert error.offset == 6
    assert str(error).startswith("offset 6: ")
    assert error.path is None


def test_map_key_errors_point_at_the_key() -> None:
    # {"a": 1, "c": 2, "b": 2}: the key "b" at offset 7 is out of order
    with pytest.raises(DecodeError) as caught:
        decode(bytes.fromhex("a3616101616302616202"))
    assert caught.value.code == ErrorCode.UNSORTED_KEYS and caught.value.offset == 7


def test_a_declared_byte_string_length_beyond_the_input_allocates_nothing() -> None:
    bomb = bytes.fromhex("5b0000001000000000")  # 2**36 bytes declared, none present
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError) as caught:
            strict_decode(bomb, max_size=MAX_SIZE, max_depth=MAX_DEPTH, max_items=MAX_ITEMS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == ErrorCode.TRUNCATED
    assert peak < 64 * 1024


@pytest.mark.parametrize(
    ("bomb", "code"),
    [
        ("5b0000001000000000", ErrorCode.TRUNCATED),
        ("9a000f4240", ErrorCode.TRUNCATED),
        ("9b0000001000000000", ErrorCode.TOO_LARGE),
        ("bb0000001000000000", ErrorCode.TOO_LARGE),
    ],
)
def test_declared_length_bombs_fail_fast(bomb: str, code: ErrorCode) -> None:
    started = time.perf_counter()
    with pytest.raises(DecodeError) as caught:
        decode(bytes.fromhex(bomb))
    assert caught.value.code == code
    assert time.perf_counter() - started < 0.5


def test_deeply_nested_input_of_maximum_size_fails_fast_without_recursion_error() -> None:
    data = b"\x81" * (MAX_SIZE - 1) + b"\x00"
    started = time.perf_counter()
    with pytest.raises(DecodeError) as caught:
        decode(data)
    assert caught.value.code == ErrorCode.TOO_DEEP and caught.value.offset == MAX_DEPTH
    assert time.perf_counter() - started < 1.0


def test_deeply_nested_tags_fail_fast() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b"\xc6" * 1_000_000 + b"\x00")
    assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE and caught.value.offset == 0


def test_input_over_max_size_is_refused_before_parsing() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b"\xff" * (MAX_SIZE + 1))
    assert caught.value.code == ErrorCode.TOO_LARGE and caught.value.offset == 0


def test_limits_are_inclusive() -> None:
    assert decode(encode([0, 0]), max_items=2) == [0, 0]
    assert decode(encode([[]]), max_depth=2) == [[]]
    assert decode(b"\x00", max_depth=0) == 0
    assert decode(encode(b"abc"), max_size=4) == b"abc"


def test_a_large_valid_input_within_the_limits_decodes() -> None:
    value = [b"\x00" * 1000] * 4000 + list(range(10_000))
    assert decode(encode(value)) == value


def test_semantic_tag_content_is_never_interpreted() -> None:
    # tag 36 (MIME), tag 35 (regex), tag 30 (rational) and shared references (28/29)
    # would all run cbor2 built-in decoders if the fast path let them through
    for hexstr in ("d8246161", "d8236161", "d81e820102", "d81c81d81d00"):
        with pytest.raises(DecodeError) as caught:
            decode(bytes.fromhex(hexstr))
        assert caught.value.code == ErrorCode.UNSUPPORTED_TYPE


@pytest.mark.parametrize("limits", [{"max_depth": -1}, {"max_items": "10"}, {"max_depth": 257}])
def test_nonsensical_limits_are_programming_errors(limits: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        decode(b"\x00", **limits)  # type: ignore[arg-type]
    assert not isinstance(caught.value, DecodeError)


def test_errors_survive_pickling_for_process_pools() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b"\x00\x00")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is DecodeError
    assert (copy.code, copy.offset, copy.path, str(copy)) == (
        ErrorCode.TRAILING_BYTES,
        1,
        None,
        str(caught.value),
    )
