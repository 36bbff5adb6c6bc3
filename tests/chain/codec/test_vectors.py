"""Replay the published vectors (tests/vectors/codec_*.json) against the codec."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

import chain.codec.decoder as decoder_module
from chain.codec import DecodeError, ErrorCode, decode, encode
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE
from chain.codec.strict_decoder import strict_decode

from .vector_files import diagnostic, from_typed_json, load_vectors

VALID = load_vectors("codec_valid")
INVALID = load_vectors("codec_invalid")


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_encoding_the_value_gives_the_published_hex(vector: dict[str, Any]) -> None:
    assert encode(from_typed_json(vector["value"])).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_decoding_the_published_hex_gives_the_value(vector: dict[str, Any]) -> None:
    assert decode(bytes.fromhex(vector["hex"])) == from_typed_json(vector["value"])


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vectors_are_accepted_by_the_fast_path_alone(
    vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fallback(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("the fast path refused a valid encoding")

    monkeypatch.setattr(decoder_module, "strict_decode", no_fallback)
    assert decode(bytes.fromhex(vector["hex"])) == from_typed_json(vector["value"])


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_strict_decoder_accepts_valid_vectors(vector: dict[str, Any]) -> None:
    value = strict_decode(
        bytes.fromhex(vector["hex"]), max_size=MAX_SIZE, max_depth=MAX_DEPTH, max_items=MAX_ITEMS
    )
    assert value == from_typed_json(vector["value"])


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_diagnostic_notation_matches_the_value(vector: dict[str, Any]) -> None:
    assert vector["diag"] == diagnostic(vector["value"])


@pytest.mark.parametrize("vector", INVALID, ids=_ids(INVALID))
def test_invalid_vectors_are_rejected_with_the_published_code(vector: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(bytes.fromhex(vector["hex"]), **vector.get("limits", {}))
    assert caught.value.code == vector["error"]
    assert caught.value.offset == vector["offset"]
    assert f"offset {vector['offset']}" in str(caught.value)


def test_every_error_code_of_the_decoder_has_an_invalid_vector() -> None:
    decoder_codes = set(ErrorCode) - {ErrorCode.SCHEMA_MISMATCH}
    assert {vector["error"] for vector in INVALID} == decoder_codes


def test_vectors_include_rfc_8949_appendix_a_examples() -> None:
    rfc = {vector["hex"] for vector in VALID if vector.get("source") == "RFC 8949 Appendix A"}
    assert {"1a000f4240", "3bffffffffffffffff", "63e6b0b4", "a26161016162820203"} <= rfc


def test_vector_names_are_unique() -> None:
    assert len(set(_ids(VALID))) == len(VALID)
    assert len(set(_ids(INVALID))) == len(INVALID)


@pytest.mark.parametrize(
    "name", [name for name in _ids(VALID) if name.startswith("map keys: bytewise vs length-first")]
)
def test_bytewise_key_order_differs_from_cbor2_canonical(name: str) -> None:
    (vector,) = [vector for vector in VALID if vector["name"] == name]
    value = from_typed_json(vector["value"])
    assert cbor2.dumps(value, canonical=True).hex() != vector["hex"]
    with pytest.raises(DecodeError) as caught:
        decode(cbor2.dumps(value, canonical=True))
    assert caught.value.code == ErrorCode.UNSORTED_KEYS
