"""Sparse Merkle tree: state transitions and proofs, checked against a plain dict model."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto.hashing import sm3
from chain.ledger.smt import PLACEHOLDER, ProofError, SparseMerkleProof, SparseMerkleTree, verify_proof
from chain.ledger.smt.tree import MissingNodeError


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


keys = st.binary(min_size=1, max_size=3).map(sha)
values = st.binary(min_size=0, max_size=3).map(sha)
batches = st.lists(st.dictionaries(keys, st.one_of(st.none(), values), max_size=12), min_size=1, max_size=6)


def apply(batches_: list[dict[bytes, bytes | None]]) -> tuple[SparseMerkleTree, dict, list[dict[bytes, bytes]]]:
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha)
    model: dict[bytes, bytes] = {}
    history = []
    for version, batch in enumerate(batches_, start=1):
        update = tree.update(version - 1 if version > 1 else None, version, batch)
        store.update(update.writes)
        for k, v in batch.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
        history.append(dict(model))
        assert tree.root_hash(version) == update.root_hash
    return tree, store, history


@settings(max_examples=60, deadline=None)
@given(batches)
def test_tree_reads_match_the_model_at_every_version(batches_: list[dict[bytes, bytes | None]]) -> None:
    tree, _, history = apply(batches_)
    for version, model in enumerate(history, start=1):
        probe = set(model) | {k for b in batches_ for k in b}
        for k in probe:
            assert tree.get(version, k) == model.get(k)


@settings(max_examples=60, deadline=None)
@given(batches)
def test_root_depends_only_on_the_final_contents(batches_: list[dict[bytes, bytes | None]]) -> None:
    tree, _, history = apply(batches_)
    fresh = SparseMerkleTree({}, sha)
    once = fresh.update(None, 1, history[-1])
    assert once.root_hash == tree.root_hash(len(batches_))
    if not history[-1]:
        assert once.root_hash == PLACEHOLDER


@settings(max_examples=60, deadline=None)
@given(batches, keys)
def test_proof_verifies_iff_the_claim_is_true(batches_: list[dict[bytes, bytes | None]], other: bytes) -> None:
    tree, _, history = apply(batches_)
    for version, model in enumerate(history, start=1):
        root = tree.root_hash(version)
        for k in list(model)[:5] + [other]:
            proof = tree.prove(version, k)
            truth = model.get(k)
            verify_proof(sha, root, k, truth, proof)
            wrong = sha(b"wrong") if truth is not None else sha(b"invented")
            with pytest.raises(ProofError):
                verify_proof(sha, root, k, wrong, proof)
            if truth is not None:
                with pytest.raises(ProofError):
                    verify_proof(sha, root, k, None, proof)


@settings(max_examples=60, deadline=None)
@given(batches, st.data())
def test_any_altered_proof_fails(batches_: list[dict[bytes, bytes | None]], data: st.DataObject) -> None:
    tree, _, history = apply(batches_)
    model = history[-1]
    version = len(history)
    root = tree.root_hash(version)
    k = data.draw(st.sampled_from(sorted(model))) if model else sha(b"absent")
    proof = tree.prove(version, k)
    truth = model.get(k)
    mutations = []
    for i, s in enumerate(proof.siblings):
        flipped = bytes([s[0] ^ 1]) + s[1:]
        mutations.append(SparseMerkleProof(proof.siblings[:i] + (flipped,) + proof.siblings[i + 1 :], proof.leaf))
    if proof.siblings:
        mutations.append(SparseMerkleProof(proof.siblings[:-1], proof.leaf))
    mutations.append(SparseMerkleProof(proof.siblings + (PLACEHOLDER,), proof.leaf))
    if proof.leaf is not None:
        kh, vh = proof.leaf
        mutations.append(SparseMerkleProof(proof.siblings, (kh, sha(vh))))
        if truth is None:
            mutations.append(SparseMerkleProof(proof.siblings, None))
    for bad in mutations:
        with pytest.raises(ProofError):
            verify_proof(sha, root, k, truth, bad)


@settings(max_examples=40, deadline=None)
@given(batches)
def test_proofs_survive_their_cbor_form(batches_: list[dict[bytes, bytes | None]]) -> None:
    tree, _, history = apply(batches_)
    for k in list(history[-1])[:5] + [sha(b"nope")]:
        proof = tree.prove(len(history), k)
        assert SparseMerkleProof.from_cbor(proof.to_cbor()) == proof


@pytest.mark.parametrize(
    "bad",
    [
        [1, b"", [], None],
        [2, b"\x01", [], None],
        [1, b"\x01", [b"x" * 31], None],
        [300, b"\x00" * 38, [], None],
        [0, b"", [], [b"a" * 32]],
        "not a proof",
    ],
)
def test_malformed_proof_encodings_are_refused(bad: object) -> None:
    with pytest.raises(ProofError):
        SparseMerkleProof.from_cbor(bad)


def test_tree_hashes_with_the_ledger_suite_hash() -> None:
    data = {sha(b"k%d" % i): sha(b"v") for i in range(10)}
    a = SparseMerkleTree({}, sha).update(None, 1, data).root_hash
    b = SparseMerkleTree({}, sm3).update(None, 1, data).root_hash
    assert a != b


def test_deleting_everything_returns_to_the_empty_root() -> None:
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha)
    data = {sha(b"k%d" % i): sha(b"v%d" % i) for i in range(50)}
    store.update(tree.update(None, 1, data).writes)
    up = tree.update(1, 2, {k: None for k in data})
    store.update(up.writes)
    assert up.root_hash == PLACEHOLDER and tree.root(2) is None
    assert tree.get(1, next(iter(data))) is not None  # history remains


def test_missing_version_and_missing_node_are_reported() -> None:
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha)
    store.update(tree.update(None, 1, {sha(b"a"): sha(b"1"), sha(b"b"): sha(b"2")}).writes)
    with pytest.raises(MissingNodeError):
        tree.root_hash(7)
    for key in [k for k in store if k.startswith(b"n")]:
        del store[key]
    with pytest.raises(MissingNodeError):
        SparseMerkleTree(store, sha).get(1, sha(b"a"))


def test_new_version_must_grow() -> None:
    tree = SparseMerkleTree({}, sha)
    with pytest.raises(ValueError):
        tree.update(5, 5, {})
