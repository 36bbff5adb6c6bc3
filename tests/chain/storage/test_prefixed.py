"""PrefixedKV across engines: one atomic batch over several namespaces, isolation, nesting, snapshot views."""
from __future__ import annotations

import pytest

from chain.storage import (
    KVStoreAPI,
    MemoryKV,
    PrefixedKV,
    StorageArgumentError,
    StorageClosedError,
    check_prefix_free,
)


class Boom(Exception):
    """Aborts a batch."""


def test_one_batch_spans_namespaces(root: KVStoreAPI) -> None:
    blocks, state, index = PrefixedKV(root, b"b"), PrefixedKV(root, b"s"), PrefixedKV(root, b"i")
    with root.write_batch() as batch:
        blocks.batch_view(batch).put(b"\x00\x01", b"block 1")
        state.batch_view(batch).put(b"node", b"n1")
        index.batch_view(batch).put(b"tx", b"\x00\x01")
        assert len(batch) == 3
        assert blocks.get(b"\x00\x01") is None
    assert list(root.iterate()) == [(b"b\x00\x01", b"block 1"), (b"i" + b"tx", b"\x00\x01"), (b"snode", b"n1")]


def test_a_failing_block_writes_no_namespace(root: KVStoreAPI) -> None:
    blocks, state = PrefixedKV(root, b"b"), PrefixedKV(root, b"s")
    state.put(b"node", b"old")
    with pytest.raises(Boom):
        with root.write_batch() as batch:
            blocks.batch_view(batch).put(b"1", b"block")
            state.batch_view(batch).delete(b"node")
            raise Boom
    assert list(root.iterate()) == [(b"snode", b"old")]


def test_batch_from_one_namespace_can_carry_another(root: KVStoreAPI) -> None:
    blocks, state = PrefixedKV(root, b"b"), PrefixedKV(root, b"s")
    with blocks.write_batch() as batch:
        batch.put(b"1", b"block")
        state.batch_view(batch).put(b"k", b"v")
        blocks.batch_view(batch).put(b"2", b"block")  # never doubly prefixed
        root.batch_view(batch).put(b"meta", b"m")  # the root's own key space
    assert [k for k, _ in root.iterate()] == [b"b1", b"b2", b"meta", b"sk"]


def test_views_are_isolated(root: KVStoreAPI) -> None:
    a, ab = PrefixedKV(root, b"a"), PrefixedKV(root, b"b")
    a.put(b"\xff", b"1")
    ab.put(b"\x00", b"2")
    root.put(b"a", b"bare prefix")
    assert list(a.iterate()) == [(b"\xff", b"1")]
    assert list(a.iterate(reverse=True)) == [(b"\xff", b"1")]
    assert list(ab.iterate()) == [(b"\x00", b"2")]
    assert a.get(b"\x00") is None


def test_nested_namespaces_flatten(root: KVStoreAPI) -> None:
    ledger = PrefixedKV(root, b"L")
    state = PrefixedKV(ledger, b"s")
    assert state.prefix == b"Ls" and state.underlying is root
    with ledger.write_batch() as batch:
        state.batch_view(batch).put(b"k", b"v")
    assert root.get(b"Lsk") == b"v"
    assert list(ledger.iterate()) == [(b"sk", b"v")]
    with state.snapshot() as snap:
        state.put(b"k", b"changed")
        assert snap.get(b"k") == b"v"
        assert ledger.snapshot_view(snap).get(b"sk") == b"v"
        assert root.snapshot_view(snap).get(b"Lsk") == b"v"


def test_one_snapshot_reads_every_namespace(root: KVStoreAPI) -> None:
    blocks, state = PrefixedKV(root, b"b"), PrefixedKV(root, b"s")
    root.apply({b"b1": b"block", b"sk": b"v1"})
    with root.snapshot() as snap:
        root.apply({b"b2": b"block", b"sk": b"v2"})
        assert list(blocks.snapshot_view(snap).iterate()) == [(b"1", b"block")]
        assert state.snapshot_view(snap).get(b"k") == b"v1"
    assert state.get(b"k") == b"v2"


def test_views_reject_foreign_batches_and_snapshots(root: KVStoreAPI) -> None:
    other = MemoryKV()
    ns = PrefixedKV(root, b"n")
    with other.write_batch() as batch:
        with pytest.raises(StorageArgumentError):
            ns.batch_view(batch)
    with other.snapshot() as snap:
        with pytest.raises(StorageArgumentError):
            ns.snapshot_view(snap)


def test_closing_a_view_leaves_the_store_open(root: KVStoreAPI) -> None:
    ns = PrefixedKV(root, b"n")
    ns.put(b"k", b"v")
    ns.close()
    with pytest.raises(StorageClosedError):
        ns.get(b"k")
    assert root.get(b"nk") == b"v"
    root.close()
    assert PrefixedKV(root, b"n").closed


def test_view_snapshot_is_released_with_the_view(root: KVStoreAPI) -> None:
    ns = PrefixedKV(root, b"n")
    snap = ns.snapshot()
    inner = snap.raw
    snap.close()
    assert inner.closed


def test_invalid_prefix(root: KVStoreAPI) -> None:
    for bad in (b"", "n", None):
        with pytest.raises(StorageArgumentError):
            PrefixedKV(root, bad)  # type: ignore[arg-type]


def test_check_prefix_free() -> None:
    check_prefix_free([b"b", b"s", b"i", b"\x00", b"\xff\x01"])
    for bad in ([b"b", b"bl"], [b"s", b"s"], [b"x", b""]):
        with pytest.raises(StorageArgumentError):
            check_prefix_free(bad)
