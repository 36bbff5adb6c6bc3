"""Item codes and batch commitments: the exact byte formats (known answers), Merkle proofs, serials, PINs, input errors."""
from __future__ import annotations

import hashlib
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.traceability import codes
from apps.traceability.codes import ALPHABET, BatchError, BatchTree, issue_batch, leaf_hash, pin_hash, verify_proof
from apps.traceability.identifiers import CSET82, Gtin, IdentifierError, Sgtin

GTIN = "09506000134352"
SALT = bytes(range(16))
#: Known answers, computed by hand from the formats in codes.py with SALT = 00 01 .. 0f.
EXPECTED_PIN_HASH = "8a566e209be828ba868988a9dde75d90f7ab17e6bc765aa6d06dfeba2e397535"
EXPECTED_LEAF = "a0a0db0061e0378200a816e520c336ebc0b66ae279c1b390cc723decc9a51406"


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


LEAVES = [sha(b"leaf%d" % i) for i in range(5)]
A, B, C, D, E = LEAVES


# known answers: the definitions written out by hand, and the same results as hex for other implementations


@pytest.mark.parametrize("count, by_hand, known", [
    (1, A, "4d5a9584d985e8fb44015a8affa9b76f1ff16f65e61df7156d8e8159e1448978"),
    (2, node(A, B), "78034e309d8da2f785118f27dab404e9417741e4e53a96ac01f96a66597dd690"),
    (3, node(node(A, B), C), "69161d2b4f4c2abce257bf2c79f7d4309a4b19fd327c40542d65c6db2ab4cc68"),
    (5, node(node(node(A, B), node(C, D)), E), "c5ea0621c9ed2e73b01649fa098b967bfa18f62a9c4d2d3fc1915241ef8c051e"),
])
def test_roots_of_small_trees(count: int, by_hand: bytes, known: str) -> None:
    tree = BatchTree.build(LEAVES[:count])
    assert tree.root == by_hand == bytes.fromhex(known)
    assert tree.size == count


def test_proofs_of_a_five_leaf_tree_step_over_promoted_nodes() -> None:
    tree = BatchTree.build(LEAVES)
    ab, cd = node(A, B), node(C, D)
    assert tree.proof(0) == [(B, False), (cd, False), (E, False)]
    assert tree.proof(3) == [(C, True), (ab, True), (E, False)]
    assert tree.proof(4) == [(node(ab, cd), True)]  # E is promoted twice: one step only
    assert BatchTree.build(LEAVES[:3]).proof(2) == [(node(A, B), True)]
    assert BatchTree.build(LEAVES[:1]).proof(0) == []
    assert verify_proof(A, [], A)


def test_pin_hash_and_leaf_hash_known_answers() -> None:
    expected_pin = sha(b"trace-pin|09506000134352|0123456789AB|ABCDEFGHJK|" + SALT)
    assert pin_hash(GTIN, "0123456789AB", "abcdefghjk", SALT) == pin_hash(GTIN, "0123456789AB", "ABCDEFGHJK", SALT) \
        == expected_pin
    assert expected_pin.hex() == EXPECTED_PIN_HASH
    leaf = leaf_hash("0123456789AB", expected_pin)
    assert leaf == sha(b"\x000123456789AB|" + expected_pin)
    assert leaf.hex() == EXPECTED_LEAF
    assert codes.item_leaf(GTIN, "0123456789AB", "AbCdEfGhJk", SALT) == leaf


def test_pin_hash_depends_on_every_input() -> None:
    base = pin_hash(GTIN, "0123456789AB", "ABCDEFGHJK", SALT)
    others = {pin_hash("09506000134369", "0123456789AB", "ABCDEFGHJK", SALT),  # another valid GTIN
              pin_hash(GTIN, "0123456789AC", "ABCDEFGHJK", SALT),
              pin_hash(GTIN, "0123456789AB", "ABCDEFGHJM", SALT),
              pin_hash(GTIN, "0123456789AB", "ABCDEFGHJK", bytes(16))}
    assert len(others) == 4 and base not in others
    assert leaf_hash("0123456789AB", base) != leaf_hash("0123456789AC", base)


# an issued batch


def test_an_issued_batch_is_consistent_with_the_public_definitions() -> None:
    batch = issue_batch(GTIN, "L2026/04", 37)
    assert (batch.gtin, batch.lot, batch.size, len(batch.pins), len(batch.pin_hashes)) == (GTIN, "L2026/04", 37, 37, 37)
    assert len(set(batch.salts)) == 37 and all(len(salt) == 16 for salt in batch.salts)
    for i, (serial, pin, salt, hashed) in enumerate(zip(batch.serials, batch.pins, batch.salts, batch.pin_hashes)):
        assert hashed == pin_hash(GTIN, serial, pin, salt)
        assert batch.tree.leaf(i) == leaf_hash(serial, hashed)
        assert verify_proof(codes.item_leaf(GTIN, serial, pin.lower(), salt), batch.tree.proof(i), batch.root)
    assert BatchTree.build([leaf_hash(s, h) for s, h in zip(batch.serials, batch.pin_hashes)]) == batch.tree
    assert "pins" not in repr(batch) and batch.pins[0] not in repr(batch)


def test_serials_and_pins_use_the_alphabet_and_serials_are_unique() -> None:
    serials = codes.new_serials(5_000)
    assert len(set(serials)) == 5_000
    assert all(len(s) == codes.SERIAL_LENGTH and set(s) <= set(ALPHABET) for s in serials)
    assert set(ALPHABET) <= CSET82 and len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)
    assert set("".join(serials)) == set(ALPHABET)  # 60,000 draws from 32 characters: all appear
    Sgtin(Gtin(GTIN), serials[0])  # a valid GS1 serial
    pin = codes.new_pin()
    assert len(pin) == codes.PIN_LENGTH and set(pin) <= set(ALPHABET)
    assert len(codes.new_pins(10)) == 10


def test_a_colliding_serial_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = [bytes(12) * 2 + bytes([1] * 12), bytes(12), bytes([2] * 12)]  # "000000000000" twice, then again once
    monkeypatch.setattr(codes, "_random_bytes", lambda n: draws.pop(0)[:n])
    assert codes.new_serials(3) == ["000000000000", "111111111111", "222222222222"]
    assert draws == []


def test_the_character_draw_is_uniform() -> None:
    # each byte value maps to one character, each character from exactly 8 byte values
    assert sorted(codes._TABLE) == sorted(ALPHABET.encode() * 8)


# Merkle properties


@st.composite
def trees(draw: st.DrawFn, max_size: int = 70) -> tuple[list[bytes], BatchTree]:
    size = draw(st.integers(min_value=1, max_value=max_size))
    seed = draw(st.binary(min_size=4, max_size=4))
    leaves = [sha(seed + i.to_bytes(4, "big")) for i in range(size)]
    return leaves, BatchTree.build(leaves)


def _root_by_hand(level: list[bytes]) -> bytes:
    while len(level) > 1:
        pairs = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


@settings(max_examples=60, deadline=None)
@given(trees())
def test_every_proof_verifies_and_the_blob_round_trips(case: tuple[list[bytes], BatchTree]) -> None:
    leaves, tree = case
    assert tree.root == _root_by_hand(leaves)
    again = BatchTree.from_bytes(bytearray(tree.to_bytes()))
    assert again == tree and again.size == len(leaves) and again.root == tree.root
    depth = (len(leaves) - 1).bit_length()
    for i, leaf in enumerate(leaves):
        proof = again.proof(i)
        assert again.leaf(i) == leaf and len(proof) <= depth
        assert verify_proof(leaf, proof, tree.root)


def _flip(data: bytes, bit: int) -> bytes:
    return bytes(b ^ (1 << bit % 8) if i == bit // 8 % len(data) else b for i, b in enumerate(data))


@settings(max_examples=60, deadline=None)
@given(trees(), st.data())
def test_a_changed_leaf_sibling_side_or_root_fails(case: tuple[list[bytes], BatchTree], data: st.DataObject) -> None:
    leaves, tree = case
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    proof = tree.proof(index)
    assert not verify_proof(_flip(leaves[index], bit), proof, tree.root)
    assert not verify_proof(leaves[index], proof, _flip(tree.root, bit))
    if proof:
        step = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        sibling, left = proof[step]
        assert not verify_proof(leaves[index], proof[:step] + [(_flip(sibling, bit), left)] + proof[step + 1:], tree.root)
        assert not verify_proof(leaves[index], proof[:step] + [(sibling, not left)] + proof[step + 1:], tree.root)
        assert not verify_proof(leaves[index], proof[:-1], tree.root)
    if len(leaves) > 1:
        other = (index + 1) % len(leaves)
        assert not verify_proof(leaves[other], proof, tree.root)


def test_malformed_proofs_are_false_not_errors() -> None:
    tree = BatchTree.build(LEAVES)
    proof = tree.proof(1)
    assert verify_proof(B, proof, tree.root)
    for bad in ([(b"short", True)], [(A, 1)], [("text", True)], [None], "xx", None, [(A,)]):
        assert verify_proof(B, bad, tree.root) is False  # type: ignore[arg-type]
    assert verify_proof(B[:31], proof, tree.root) is False
    assert verify_proof(B, proof, tree.root.hex()) is False  # type: ignore[arg-type]


# input errors


@pytest.mark.parametrize("gtin, lot, count, field", [
    ("09506000134353", "L1", 10, "gtin"),  # bad check digit
    ("9506000134352", "L1", 10, "gtin"),  # GTIN-13: give the 14-digit form
    (9506000134352, "L1", 10, "gtin"),
    (GTIN, "", 10, "lot"),
    (GTIN, "L 1", 10, "lot"),
    (GTIN, "L" * 21, 10, "lot"),
    (GTIN, "L1", 0, "count"),
    (GTIN, "L1", codes.MAX_BATCH + 1, "count"),
    (GTIN, "L1", 2.0, "count"),
    (GTIN, "L1", True, "count"),
])
def test_bad_batch_requests_are_refused_naming_the_field(gtin: object, lot: str, count: object, field: str) -> None:
    with pytest.raises(IdentifierError) as info:
        issue_batch(gtin, lot, count)  # type: ignore[arg-type]
    assert info.value.field == field and isinstance(info.value, ValueError)


@pytest.mark.parametrize("call, field", [
    (lambda: pin_hash(GTIN, "0123456789AB", "ABCDEFGHJ", SALT), "pin"),
    (lambda: pin_hash(GTIN, "0123456789AB", "ABCDEFGHJI", SALT), "pin"),  # I is not in the alphabet
    (lambda: pin_hash(GTIN, "SERIAL WITH SPACE", "ABCDEFGHJK", SALT), "serial"),
    (lambda: pin_hash("12345", "0123456789AB", "ABCDEFGHJK", SALT), "gtin"),
    (lambda: pin_hash(GTIN, "0123456789AB", "ABCDEFGHJK", b"short"), "salt"),
    (lambda: leaf_hash("0123456789AB", b"\x00" * 31), "pin_hash"),
    (lambda: BatchTree.build([]), "leaves"),
    (lambda: BatchTree.build([A, b"short"]), "leaves"),
    (lambda: BatchTree.build(LEAVES).proof(5), "index"),
    (lambda: BatchTree.build(LEAVES).proof(-1), "index"),
    (lambda: BatchTree.from_bytes(b"TRB1" + (5).to_bytes(8, "big") + bytes(32 * 10)), "tree"),  # 5 leaves need 11 nodes
    (lambda: BatchTree.from_bytes(b"XXXX" + (1).to_bytes(8, "big") + bytes(32)), "tree"),
    (lambda: BatchTree.from_bytes(b"TRB1" + (0).to_bytes(8, "big") + bytes(32)), "tree"),
    (lambda: BatchTree.from_bytes("text"), "tree"),
    (lambda: codes.new_serials(0), "count"),
])
def test_bad_inputs_are_refused_naming_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdentifierError) as info:
        call()
    assert info.value.field == field


def test_batch_errors_survive_pickling() -> None:
    error = pickle.loads(pickle.dumps(BatchError("too many", "count")))
    assert isinstance(error, BatchError) and error.field == "count" and str(error) == "too many"
