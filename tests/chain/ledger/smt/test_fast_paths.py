"""The tree's single-key fast paths and its cache of committed records change no byte the tree writes or reads."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.ledger.smt import SparseMerkleTree
from chain.ledger.smt import tree as tree_module
from chain.ledger.state_store import TREE, StateStore
from chain.storage.memory import MemoryKV
from tests.chain.ledger.smt.keys import flip_bits


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


_BASES = [sha(b"fast%d" % i) for i in range(2)]


def _near(base: int, bits: tuple[int, ...]) -> bytes:
    """A key that differs from a base key in a few bits: forks deep below the top, across several records."""
    return flip_bits(_BASES[base], bits)


near_keys = st.builds(_near, st.integers(0, 1), st.lists(st.integers(0, 255), max_size=2).map(tuple))
any_keys = st.one_of(st.binary(min_size=1, max_size=3).map(sha), near_keys)
values = st.binary(max_size=2).map(sha)
# Small batches take the fast paths from the root down; larger ones take them below the shared records.
batches = st.lists(
    st.one_of(
        st.dictionaries(any_keys, values, min_size=1, max_size=3),
        st.dictionaries(any_keys, st.one_of(st.none(), values), max_size=30),
    ),
    min_size=1,
    max_size=8,
)


def _run(batches_: list[dict[bytes, bytes | None]], remember: bool) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every update's root hash and writes, applying them in order (and caching them if `remember`)."""
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha, cache_size=64)
    out = []
    for version, batch in enumerate(batches_, start=1):
        update = tree.update(version - 1 if version > 1 else None, version, batch)
        store.update(update.writes)
        if remember:
            tree.remember(update)
        out.append((update.root_hash, update.writes))
        for key in batch:  # reads through the cache agree with the stored records
            assert tree.get(version, key) == SparseMerkleTree(store, sha).get(version, key)
    assert len(tree._cache) <= 64
    return out


@settings(max_examples=80, deadline=None)
@given(batches, st.booleans())
def test_fast_paths_write_what_the_general_path_writes(batches_: list[dict[bytes, bytes | None]], remember: bool) -> None:
    fast = _run(batches_, remember)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tree_module, "_FEW_SETS", 0)  # every record through the general path
        general = _run(batches_, False)
    assert fast == general  # same roots, same records, byte for byte


def test_the_committed_update_is_cached_and_the_next_update_writes_the_same() -> None:
    kv = MemoryKV()
    state = StateStore(kv, sha)
    _, records, update = state.stage(None, 0, {b"a": b"1", b"b": b"2"})
    kv.apply({k: v for k, v in records.items() if v is not None})
    state.committed(update)
    _, _, other = state.stage(0, 1, {b"a": b"3", b"c": b"4"})  # a proposal that is never committed
    _, second, committed = state.stage(0, 1, {b"b": b"5"})  # another one at the same height: this one is
    kv.apply({k: v for k, v in second.items() if v is not None})
    state.committed(committed)
    _, cached, _ = state.stage(1, 2, {b"a": b"6", b"d": b"7"})
    _, fresh, _ = StateStore(kv, sha).stage(1, 2, {b"a": b"6", b"d": b"7"})
    assert cached == fresh
    assert all(k[:1] != TREE or v == kv.get(k) for k, v in second.items())
    assert all(state.tree._cache.get(key, record) == record for key, record in committed.nodes.items())
    assert other.nodes.keys() - committed.nodes.keys() <= {k for k in other.nodes if k not in state.tree._cache}



def _run_pipelined(batches_: list[dict[bytes, bytes | None]]) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """As _run, but each update is computed on top of the previous one before that one is written."""
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store, sha, cache_size=64)
    out = []
    pending = None
    for version, batch in enumerate(batches_, start=1):
        update = tree.update(version - 1 if version > 1 else None, version, batch, pending)
        if pending is not None:  # the base is written (and cached) only now, after its successor was computed
            store.update(pending.writes)
            tree.remember(pending)
        out.append((update.root_hash, update.writes))
        pending = update
    assert pending is not None
    store.update(pending.writes)
    tree.remember(pending)
    assert not set(pending.superseded) & tree._cache.keys()  # what the last update rewrote left the cache
    for version, batch in enumerate(batches_, start=1):
        for key in batch:
            assert tree.get(version, key) == SparseMerkleTree(store, sha).get(version, key)
    return out


@settings(max_examples=80, deadline=None)
@given(batches)
def test_an_update_on_an_uncommitted_base_writes_what_it_writes_on_the_committed_base(
        batches_: list[dict[bytes, bytes | None]]) -> None:
    assert _run_pipelined(batches_) == _run(batches_, True)


def test_the_pending_update_must_be_the_base_version() -> None:
    tree = SparseMerkleTree({}, sha)
    first = tree.update(None, 1, {sha(b"a"): sha(b"1")})
    with pytest.raises(ValueError, match="not the base version"):
        tree.update(2, 3, {sha(b"b"): sha(b"2")}, first)
