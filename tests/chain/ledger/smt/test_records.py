"""16-ary node records: exact round trips, damaged records refused, and the same hashes as a plain binary tree."""
from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.ledger.smt import PLACEHOLDER, SparseMerkleTree, verify_proof
from chain.ledger.smt.hashing import internal_hash, leaf_hash
from chain.ledger.smt.nodes import (
    HEADER,
    NODE_PREFIX,
    ROOT_PREFIX,
    NodeDecodeError,
    decode_record,
    decode_root,
    encode_record,
    encode_root,
    record_states,
)
from tests.chain.ledger.smt.keys import flip_bits


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- a plain binary reference: the tree as the hashing rules define it, with no storage at all --


def _bit(k: int, depth: int) -> int:
    return (k >> (255 - depth)) & 1


def ref_root(items: dict[bytes, bytes], depth: int = 0) -> bytes:
    if not items:
        return PLACEHOLDER
    if len(items) == 1:
        ((k, v),) = items.items()
        return leaf_hash(sha, k, v)
    left = {k: v for k, v in items.items() if not _bit(int.from_bytes(k, "big"), depth)}
    right = {k: v for k, v in items.items() if _bit(int.from_bytes(k, "big"), depth)}
    return internal_hash(sha, ref_root(left, depth + 1), ref_root(right, depth + 1))


def ref_proof(items: dict[bytes, bytes], key: bytes) -> tuple[tuple[bytes, ...], tuple[bytes, bytes] | None]:
    k = int.from_bytes(key, "big")
    siblings = []
    depth = 0
    while len(items) > 1:
        b = _bit(k, depth)
        mine = {x: v for x, v in items.items() if _bit(int.from_bytes(x, "big"), depth) == b}
        other = {x: v for x, v in items.items() if _bit(int.from_bytes(x, "big"), depth) != b}
        siblings.append(ref_root(other, depth + 1))
        items = mine
        depth += 1
    leaf = next(iter(items.items()), None)
    return tuple(siblings), leaf


# Keys that share long prefixes (down to all but the last bit), so paths cross many records.
_BASES = [sha(b"base%d" % i) for i in range(3)]


def _near(base: int, bits: tuple[int, ...]) -> bytes:
    return flip_bits(_BASES[base], bits)


near_keys = st.builds(_near, st.integers(0, 2), st.lists(st.integers(0, 255), min_size=0, max_size=2).map(tuple))
any_keys = st.one_of(st.binary(min_size=1, max_size=4).map(sha), near_keys)
values = st.binary(min_size=0, max_size=2).map(sha)
batches = st.lists(st.dictionaries(any_keys, st.one_of(st.none(), values), max_size=40), min_size=1, max_size=5)


def build(batches_: list[dict[bytes, bytes | None]], cache_size: int = 1000):
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha, cache_size=cache_size)
    model: dict[bytes, bytes] = {}
    history = []
    for version, batch in enumerate(batches_, start=1):
        update = tree.update(version - 1 if version > 1 else None, version, batch)
        assert all(k[:1] in (NODE_PREFIX, ROOT_PREFIX) for k in update.writes)
        store.update(update.writes)
        for k, v in batch.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
        history.append(dict(model))
    return tree, store, history


@settings(max_examples=80, deadline=None)
@given(batches, st.integers(1, 50))
def test_roots_and_proofs_equal_the_plain_binary_tree(batches_: list[dict[bytes, bytes | None]], cache_size: int) -> None:
    tree, _, history = build(batches_, cache_size)
    for version, model in enumerate(history, start=1):
        root = tree.root_hash(version)
        assert root == ref_root(model)
        probes = list(model)[:8] + [k for b in batches_ for k in b][:8] + [sha(b"absent")]
        for k in probes:
            proof = tree.prove(version, k)
            assert (proof.siblings, proof.leaf) == ref_proof(model, k)
            assert tree.get(version, k) == model.get(k)
            verify_proof(sha, root, k, model.get(k), proof)
    assert len(tree._cache) <= cache_size


def test_keys_differing_only_in_the_last_bit() -> None:
    a = _BASES[0]
    b = a[:31] + bytes([a[31] ^ 1])
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha)
    store.update(tree.update(None, 1, {a: sha(b"1"), b: sha(b"2")}).writes)
    assert tree.root_hash(1) == ref_root({a: sha(b"1"), b: sha(b"2")})
    proof = tree.prove(1, b)
    assert len(proof.siblings) == 256 and proof.leaf == (b, sha(b"2"))
    verify_proof(sha, tree.root_hash(1), b, sha(b"2"), proof)
    store.update(tree.update(1, 2, {a: None}).writes)
    assert tree.root(2).is_leaf and tree.get(2, b) == sha(b"2") and tree.get(2, a) is None


@settings(max_examples=60, deadline=None)
@given(batches)
def test_every_written_record_decodes_and_reencodes_to_the_same_bytes(batches_: list[dict[bytes, bytes | None]]) -> None:
    _, store, _ = build(batches_)
    for key, data in store.items():
        if key[:1] == NODE_PREFIX:
            assert encode_record(record_states(decode_record(data))) == data
        else:
            state = decode_root(data)
            assert encode_root(state) == data


def test_a_proof_reads_one_record_per_four_levels() -> None:
    data = {sha(b"k%d" % i): sha(b"v%d" % i) for i in range(3000)}
    store: dict[bytes, bytes] = {}
    store.update(SparseMerkleTree(store, sha).update(None, 1, data).writes)
    reads = []

    class Counting:
        def get(self, key: bytes) -> bytes | None:
            reads.append(key)
            return store.get(key)

    for k in list(data)[:200] + [sha(b"absent%d" % i) for i in range(50)]:
        reads.clear()
        proof = SparseMerkleTree(Counting(), sha).prove(1, k)
        assert len(reads) <= 1 + math.ceil(len(proof.siblings) / 4)  # the root pointer, then one record per 4 levels


def _records(batches_: list[dict[bytes, bytes | None]]) -> list[bytes]:
    _, store, _ = build(batches_)
    return [v for k, v in store.items() if k[:1] == NODE_PREFIX]


@settings(max_examples=40, deadline=None)
@given(batches, st.data())
def test_damaged_records_are_refused(batches_: list[dict[bytes, bytes | None]], data: st.DataObject) -> None:
    records = _records(batches_)
    if not records:
        return
    record = data.draw(st.sampled_from(records))
    cut = data.draw(st.integers(0, len(record) - 1))
    with pytest.raises(NodeDecodeError):
        decode_record(record[:cut])
    with pytest.raises(NodeDecodeError):
        decode_record(record + data.draw(st.binary(min_size=1, max_size=64)))
    position = data.draw(st.integers(0, HEADER * 8 - 1))  # any bit of the tag or the bitmaps
    flipped = bytearray(record)
    flipped[position // 8] ^= 0x80 >> (position % 8)
    with pytest.raises(NodeDecodeError):
        decode_record(bytes(flipped))


def _valid_shape(internal: int, leaves: int) -> bool:
    """Slow statement of what a record may hold: position 1 internal; everything else below an internal
    position; an internal position above the slots has two children, or one internal child."""
    if internal & 1 or leaves & 3 or not internal & 2 or internal & leaves:
        return False
    present = internal | leaves
    for p in range(2, 32):
        if present >> p & 1 and not internal >> (p >> 1) & 1:
            return False
    for p in range(1, 16):
        if internal >> p & 1:
            children = [present >> c & 1 for c in (2 * p, 2 * p + 1)]
            if not any(children):
                return False
            if sum(children) == 1 and not (internal >> (2 * p) & 1 or internal >> (2 * p + 1) & 1):
                return False
    return True


def _shape(spec: list[int]) -> tuple[int, int]:
    """A valid record shape grown from choices: each position below an internal one is made
    empty (0), a leaf (1) or internal (2); then invalid spots are repaired."""
    internal, leaves = 2, 0
    choices = iter(spec)
    for p in range(2, 32):
        if not internal >> (p >> 1) & 1:
            continue
        c = next(choices, 0) % 3
        if c == 1:
            leaves |= 1 << p
        elif c == 2:
            internal |= 1 << p
    # Repair internal positions above the slots: give an empty pair two leaves, and a lone leaf a sibling.
    for p in range(15, 0, -1):
        if not internal >> p & 1:
            continue
        a, b = 2 * p, 2 * p + 1
        pa, pb = (internal | leaves) >> a & 1, (internal | leaves) >> b & 1
        if not pa and not pb:
            leaves |= 1 << a | 1 << b
        elif pa + pb == 1 and not (internal >> a & 1 or internal >> b & 1):
            leaves |= 1 << (b if pa else a)
    return internal, leaves


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2), max_size=30), st.data())
def test_valid_shapes_round_trip_with_their_contents(spec: list[int], data: st.DataObject) -> None:
    internal, leaves = _shape(spec)
    assert _valid_shape(internal, leaves)
    hashes = [data.draw(st.binary(min_size=32, max_size=32)) for _ in range((internal >> 2).bit_count())]
    versions = [data.draw(st.integers(0, 2**64 - 1)) for _ in range((internal >> 16).bit_count())]
    blobs = [data.draw(st.binary(min_size=64, max_size=64)) for _ in range(leaves.bit_count())]
    raw = (
        bytes([2]) + internal.to_bytes(4, "big") + leaves.to_bytes(4, "big") + b"".join(hashes)
        + b"".join(v.to_bytes(8, "big") for v in versions) + b"".join(blobs)
    )
    states = record_states(decode_record(raw))
    hi, vi, li = iter(hashes), iter(versions), iter(blobs)
    for p in range(2, 32):
        if internal >> p & 1:
            assert states[p] == (2, next(hi), next(vi) if p >= 16 else None)
        elif leaves >> p & 1:
            assert states[p] == (1, None, next(li))
        else:
            assert states[p] is None
    assert encode_record(states) == raw


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(0, 2), max_size=30), st.lists(st.integers(0, 63), max_size=3))
def test_record_shapes_are_checked_exactly(spec: list[int], flips: list[int]) -> None:
    internal, leaves = _shape(spec)
    for f in flips:  # damage the shape (or not): the decoder must agree with the slow statement
        if f < 32:
            internal ^= 1 << f
        else:
            leaves ^= 1 << (f - 32)
    body = bytes(32 * (internal >> 2).bit_count() + 8 * (internal >> 16).bit_count() + 64 * leaves.bit_count())
    data = bytes([2]) + internal.to_bytes(4, "big") + leaves.to_bytes(4, "big") + body
    if _valid_shape(internal, leaves):
        assert encode_record(record_states(decode_record(data))) == data
    else:
        with pytest.raises(NodeDecodeError):
            decode_record(data)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_either_decode_or_raise_the_decode_error(raw: bytes) -> None:
    try:
        decode_record(raw)
    except NodeDecodeError:
        pass
    try:
        decode_root(raw)
    except NodeDecodeError:
        pass


def test_root_pointers_round_trip() -> None:
    for state in (None, (2, sha(b"h"), 7), (1, sha(b"h"), sha(b"k") + sha(b"v"))):
        assert decode_root(encode_root(state)) == state  # type: ignore[arg-type]
    for bad in (b"", b"\x00\x00", b"\x01" + bytes(39), b"\x03" + bytes(40), b"\x02" + bytes(95)):
        with pytest.raises(NodeDecodeError):
            decode_root(bad)


def test_a_damaged_stored_record_is_reported_by_the_tree() -> None:
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha)
    data = {sha(b"k%d" % i): sha(b"v") for i in range(40)}
    store.update(tree.update(None, 1, data).writes)
    key = next(k for k in store if k[:1] == NODE_PREFIX and k[9] == 0)  # the top record: every path reads it
    store[key] = store[key][:-1]
    with pytest.raises(NodeDecodeError):
        SparseMerkleTree(store, sha).get(1, next(iter(data)))
    with pytest.raises(NodeDecodeError):
        SparseMerkleTree(store, sha).update(1, 2, {k: None for k in data})
