"""Corrupting a canonical encoding in any of the usual ways is rejected with the matching code."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from chain.codec import DecodeError, ErrorCode, decode, encode
from tests.strategies import cbor_containers, cbor_maps, cbor_values

from .cbor_layout import Node, head, parse, walk, widened_head


def _code(data: bytes) -> ErrorCode:
    try:
        decode(data)
    except DecodeError as error:
        return error.code
    raise AssertionError(f"accepted {data.hex()}")


def _maps(data: bytes, min_entries: int) -> list[Node]:
    return [node for node in walk(parse(data)) if node.major == 5 and node.argument >= min_entries]


@given(cbor_values(), st.data())
def test_a_widened_head_is_non_canonical(value: object, data: st.DataObject) -> None:
    encoding = encode(value)
    candidates = [
        node for node in walk(parse(encoding)) if node.major <= 5 and widened_head(node.major, node.argument)
    ]
    assume(candidates)
    node = data.draw(st.sampled_from(candidates))
    wider = widened_head(node.major, node.argument)
    assert wider is not None
    mutated = encoding[: node.start] + wider + encoding[node.start + node.head_len :]
    assert _code(mutated) == ErrorCode.NON_CANONICAL


@given(cbor_values(), st.binary(min_size=1, max_size=4))
def test_appended_bytes_are_trailing(value: object, extra: bytes) -> None:
    assert _code(encode(value) + extra) == ErrorCode.TRAILING_BYTES


@given(cbor_values(), st.data())
def test_any_strict_prefix_is_truncated(value: object, data: st.DataObject) -> None:
    encoding = encode(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoding) - 1))
    assert _code(encoding[:cut]) == ErrorCode.TRUNCATED


@given(cbor_maps(min_size=2), st.data())
def test_swapping_two_map_entries_is_unsorted(value: object, data: st.DataObject) -> None:
    encoding = encode(value)
    maps = _maps(encoding, 2)
    assume(maps)
    node = data.draw(st.sampled_from(maps))
    index = data.draw(st.integers(min_value=0, max_value=node.argument - 2))
    key_a, value_a, key_b, value_b = node.children[2 * index : 2 * index + 4]
    first = encoding[key_a.start : value_a.end]
    second = encoding[key_b.start : value_b.end]
    mutated = encoding[: key_a.start] + second + first + encoding[value_b.end :]
    assert _code(mutated) == ErrorCode.UNSORTED_KEYS


@given(cbor_maps(min_size=1), st.data())
def test_a_duplicated_map_entry_is_a_duplicate_key(value: object, data: st.DataObject) -> None:
    encoding = encode(value)
    maps = _maps(encoding, 1)
    assume(maps)
    node = data.draw(st.sampled_from(maps))
    index = data.draw(st.integers(min_value=0, max_value=node.argument - 1))
    key, entry_value = node.children[2 * index : 2 * index + 2]
    entry = encoding[key.start : entry_value.end]
    body = encoding[node.start + node.head_len : node.end]
    split = entry_value.end - (node.start + node.head_len)
    new_map = head(5, node.argument + 1) + body[:split] + entry + body[split:]
    mutated = encoding[: node.start] + new_map + encoding[node.end :]
    assert _code(mutated) == ErrorCode.DUPLICATE_KEY


@given(
    cbor_values(),
    st.data(),
    st.sampled_from(["f93c00", "fa3f800000", "fb3ff0000000000000", "c100", "f7", "f0"]),
)
def test_replacing_an_item_by_a_float_tag_or_simple_value_is_unsupported(
    value: object, data: st.DataObject, replacement: str
) -> None:
    encoding = encode(value)
    # replace a scalar (so the container structure stays intact) that is not a map key
    key_starts = {
        child.start for node in walk(parse(encoding)) if node.major == 5 for child in node.children[0::2]
    }
    scalars = [
        node for node in walk(parse(encoding)) if node.major not in (4, 5) and node.start not in key_starts
    ]
    assume(scalars)
    node = data.draw(st.sampled_from(scalars))
    mutated = encoding[: node.start] + bytes.fromhex(replacement) + encoding[node.end :]
    assert _code(mutated) == ErrorCode.UNSUPPORTED_TYPE


@given(cbor_containers(), st.data())
def test_an_indefinite_length_container_is_non_canonical(value: object, data: st.DataObject) -> None:
    encoding = encode(value)
    containers = [node for node in walk(parse(encoding)) if node.major in (4, 5)]
    node = data.draw(st.sampled_from(containers))
    indefinite = bytes([(node.major << 5) | 31]) + encoding[node.start + node.head_len : node.end] + b"\xff"
    mutated = encoding[: node.start] + indefinite + encoding[node.end :]
    assert _code(mutated) == ErrorCode.NON_CANONICAL
