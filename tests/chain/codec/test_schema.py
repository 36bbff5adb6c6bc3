"""Array-shaped schemas for frozen dataclasses (chain.codec.schema)."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.codec import DecodeError, EncodeError, ErrorCode, decode, encode, from_cbor, to_cbor
from chain.codec.schema import from_value, to_value
from tests.strategies import CBOR_INT_MAX, CBOR_INT_MIN


class OpType(enum.IntEnum):
    WRITE = 3
    INVOKE = 4


@dataclass(frozen=True)
class Operation:
    op_type: OpType
    key: str
    value: bytes


@dataclass(frozen=True)
class Endorsement:
    algorithm: int
    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class Transaction:
    version: int
    nonce: int
    ops: tuple[Operation, ...]
    endorsements: tuple[Endorsement, ...]
    memo: str | None
    window: tuple[int, int]
    urgent: bool
    parent: Optional[bytes] = None


@dataclass(frozen=True)
class Tree:
    label: str
    children: tuple[Tree, ...]


@dataclass(frozen=True)
class Positive:
    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("amount must be positive")


@dataclass(frozen=True, kw_only=True)
class KeywordOnly:
    first: bytes
    second: int


@dataclass
class Mutable:
    amount: int


@dataclass(frozen=True)
class WithFloat:
    ratio: float


@dataclass(frozen=True)
class WithList:
    items: list[int]


def sample() -> Transaction:
    return Transaction(
        version=1,
        nonce=7,
        ops=(Operation(OpType.WRITE, "k", b"v"), Operation(OpType.INVOKE, "c", b"")),
        endorsements=(Endorsement(1, b"\x01" * 32, b"\x02" * 64),),
        memo=None,
        window=(100, 200),
        urgent=False,
    )


def _replace(tx: Transaction, **changes: Any) -> Transaction:
    """``dataclasses.replace`` that lets tests put wrongly typed values into fields."""
    return dataclasses.replace(tx, **changes)


def test_fields_are_encoded_positionally_as_an_array() -> None:
    tx = sample()
    expected = [
        1,
        7,
        [[3, "k", b"v"], [4, "c", b""]],
        [[1, b"\x01" * 32, b"\x02" * 64]],
        None,
        [100, 200],
        False,
        None,
    ]
    assert to_value(tx) == expected
    assert to_cbor(tx) == encode(expected)


def test_round_trip_restores_types() -> None:
    tx = sample()
    back = from_cbor(Transaction, to_cbor(tx))
    assert back == tx
    assert type(back.ops[0].op_type) is OpType
    assert type(back.ops) is tuple and type(back.window) is tuple


def test_recursive_dataclasses_round_trip() -> None:
    tree = Tree("root", (Tree("a", ()), Tree("b", (Tree("c", ()),))))
    assert to_value(tree) == ["root", [["a", []], ["b", [["c", []]]]]]
    assert from_cbor(Tree, to_cbor(tree)) == tree


@pytest.mark.parametrize(
    ("tx", "message"),
    [
        (_replace(sample(), nonce="7"), "$.nonce: expected int, got str"),
        (_replace(sample(), nonce=True), "$.nonce: expected int, got bool"),
        (_replace(sample(), urgent=1), "$.urgent: expected bool, got int"),
        (
            _replace(sample(), ops=(Operation(OpType.WRITE, "k", b"v"), Operation(OpType.WRITE, "k", "v"))),  # type: ignore[arg-type]
            "$.ops[1].value: expected bytes, got str",
        ),
        (
            _replace(sample(), ops=(Operation(3, "k", b"v"),)),  # type: ignore[arg-type]
            "$.ops[0].op_type: expected OpType, got int",
        ),
        (_replace(sample(), ops=[]), "$.ops: expected tuple, got list"),
        (_replace(sample(), window=(1, 2, 3)), "$.window: expected 2 items, got 3"),
        (_replace(sample(), memo=b"x"), "$.memo: expected str, got bytes"),
        (_replace(sample(), nonce=2**64), "$.nonce: int out of range [-2**64, 2**64-1]"),
        (
            _replace(sample(), endorsements=(sample(),)),
            "$.endorsements[0]: expected Endorsement, got Transaction",
        ),
    ],
)
def test_encoding_a_wrong_field_type_names_the_field(tx: Transaction, message: str) -> None:
    with pytest.raises(EncodeError) as caught:
        to_cbor(tx)
    assert caught.value.code == ErrorCode.SCHEMA_MISMATCH
    assert str(caught.value) == message


def _with(index: int, value: Any) -> bytes:
    fields = to_value(sample())
    fields[index] = value
    return encode(fields)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(1, "7"), "$.nonce: expected int, got str"),
        (_with(2, [[3, "k", 5]]), "$.ops[0].value: expected bytes, got int"),
        (_with(2, [[9, "k", b""]]), "$.ops[0].op_type: 9 is not a valid OpType"),
        (_with(2, [[3, "k"]]), "$.ops[0]: expected 3 fields for Operation, got 2"),
        (_with(2, {"k": 1}), "$.ops: expected array, got dict"),
        (_with(5, [1]), "$.window: expected 2 items, got 1"),
        (_with(6, 0), "$.urgent: expected bool, got int"),
        (encode([1, 2]), "$: expected 8 fields for Transaction, got 2"),
        (encode({"version": 1}), "$: expected array for Transaction, got dict"),
    ],
)
def test_decoding_a_mismatched_shape_names_the_field(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        from_cbor(Transaction, data)
    assert caught.value.code == ErrorCode.SCHEMA_MISMATCH
    assert str(caught.value) == message


def test_non_canonical_bytes_are_refused_before_the_schema_is_applied() -> None:
    data = to_cbor(sample())
    with pytest.raises(DecodeError) as caught:
        from_cbor(Transaction, data + b"\x00")
    assert caught.value.code == ErrorCode.TRAILING_BYTES


def test_validation_in_post_init_becomes_a_schema_mismatch() -> None:
    assert from_cbor(Positive, encode([5])) == Positive(5)
    with pytest.raises(DecodeError) as caught:
        from_cbor(Positive, encode([0]))
    assert caught.value.code == ErrorCode.SCHEMA_MISMATCH
    assert "amount must be positive" in str(caught.value)


def test_keyword_only_dataclasses_keep_declaration_order() -> None:
    value = KeywordOnly(second=2, first=b"1")
    assert to_value(value) == [b"1", 2]
    assert from_cbor(KeywordOnly, to_cbor(value)) == value


def test_from_value_accepts_decoded_values() -> None:
    assert from_value(Transaction, decode(to_cbor(sample()))) == sample()


@pytest.mark.parametrize(
    ("cls", "fragment"),
    [
        (Mutable, "must be a frozen dataclass"),
        (WithFloat, "WithFloat.ratio: unsupported annotation"),
        (WithList, "WithList.items: unsupported annotation"),
        (int, "is not a dataclass"),
    ],
)
def test_classes_without_an_array_schema_are_refused(cls: type, fragment: str) -> None:
    with pytest.raises(TypeError, match=fragment):
        from_cbor(cls, encode([1]))


def test_to_cbor_refuses_non_dataclass_values() -> None:
    with pytest.raises(TypeError):
        to_cbor({"a": 1})


_operations = st.builds(
    Operation,
    st.sampled_from(OpType),
    st.text(max_size=10),
    st.binary(max_size=10),
)
_transactions = st.builds(
    Transaction,
    version=st.integers(min_value=0, max_value=3),
    nonce=st.integers(min_value=CBOR_INT_MIN, max_value=CBOR_INT_MAX),
    ops=st.lists(_operations, max_size=3).map(tuple),
    endorsements=st.lists(
        st.builds(Endorsement, st.integers(0, 3), st.binary(max_size=8), st.binary(max_size=8)), max_size=2
    ).map(tuple),
    memo=st.none() | st.text(max_size=10),
    window=st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)),
    urgent=st.booleans(),
    parent=st.none() | st.binary(max_size=8),
)


@given(_transactions)
def test_schema_round_trip_property(tx: Transaction) -> None:
    data = to_cbor(tx)
    assert from_cbor(Transaction, data) == tx
    assert to_cbor(from_cbor(Transaction, data)) == data
