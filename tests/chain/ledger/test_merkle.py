"""List Merkle tree (tx and receipt roots): proofs verify exactly for the right leaf and position."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.ledger.merkle import ListProof, list_proof, list_root, verify_list_proof
from chain.ledger.smt import PLACEHOLDER


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


leaves = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(leaves, st.data())
def test_every_leaf_proves_and_nothing_else_does(items: list[bytes], data: st.DataObject) -> None:
    root = list_root(sha, items)
    i = data.draw(st.integers(0, len(items) - 1))
    proof = list_proof(sha, items, i)
    assert verify_list_proof(sha, root, items[i], proof)
    assert not verify_list_proof(sha, root, items[i] + b"x", proof)
    if len(items) > 1:
        j = (i + 1) % len(items)
        assert not verify_list_proof(sha, root, items[i], ListProof(j, proof.size, proof.path)) or items[i] == items[j]
        assert not verify_list_proof(sha, root, items[i], ListProof(i, proof.size + 1, proof.path))
        bad = (bytes([proof.path[0][0] ^ 1]) + proof.path[0][1:],) + proof.path[1:]
        assert not verify_list_proof(sha, root, items[i], ListProof(i, proof.size, bad))


def test_root_is_order_sensitive_and_commits_to_the_size() -> None:
    assert list_root(sha, []) != PLACEHOLDER
    assert list_root(sha, [b"", b"", b""]) != list_root(sha, [b"", b"", b"", b""])
    assert list_root(sha, [b"a", b"b"]) != list_root(sha, [b"b", b"a"])
    assert list_root(sha, [b"a"]) != sha(b"a")  # leaves are domain-separated
