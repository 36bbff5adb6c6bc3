"""The behaviour every KVStoreAPI implementation must have, written once (as py-evm's DatabaseAPITestSuite).

A test module subclasses KVStoreConformance and provides a `store` fixture
returning an empty store (or an empty namespace view of a store holding other
data). `prefixed_view` builds such a view, with neighbours around it.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import pytest

from chain.storage import (
    MAX_KEY_SIZE,
    MAX_VALUE_SIZE,
    KVStoreAPI,
    MemoryKV,
    PrefixedKV,
    StorageArgumentError,
    StorageClosedError,
)

# Keys around the edges of bytewise order: 0x00 and 0xff bytes, prefixes of one another.
EDGE_KEYS = [
    b"\x00",
    b"\x00\x00",
    b"\x00\xff",
    b"a",
    b"a\x00",
    b"ab",
    b"ab\xff",
    b"ab\xff\xff",
    b"ac",
    b"b",
    b"\x7f\x80",
    b"\xff",
    b"\xff\x00",
    b"\xff\xff",
    b"\xff\xff\xff",
]
EDGE_PREFIXES = [b"", b"\x00", b"a", b"ab", b"ab\xff", b"\xff", b"\xff\xff", b"z"]
EDGE_BOUNDS = [
    None,
    b"",
    b"\x00",
    b"\x00\x00\x00",
    b"a",
    b"ab",
    b"ab\xff",
    b"ab\xff\xff\x00",
    b"ac",
    b"b",
    b"\xff",
    b"\xff\xff",
    b"\xff\xff\xff\xff",
]

NAMESPACE = b"ns"
# Keys just outside NAMESPACE (including the bare prefix), which a view must never show.
NEIGHBOURS = [b"n", NAMESPACE, b"nr\xff\xff", b"nt", b"nt\x00", b"\x00", b"\xff\xff"]


def prefixed_view(root: KVStoreAPI) -> PrefixedKV:
    """An empty namespace of root, with keys on both sides of it."""
    root.apply({key: b"neighbour" for key in NEIGHBOURS})
    return PrefixedKV(root, NAMESPACE)


def model_range(
    model: dict[bytes, bytes], prefix: bytes, start: bytes | None, stop: bytes | None, reverse: bool
) -> list[tuple[bytes, bytes]]:
    """What iterate() must yield, by brute force."""
    keys = sorted(
        k
        for k in model
        if k.startswith(prefix) and (start is None or k >= start) and (stop is None or k < stop)
    )
    if reverse:
        keys.reverse()
    return [(k, model[k]) for k in keys]


class Boom(Exception):
    """Raised inside a batch to abort it."""


BAD_TYPES: list[Any] = ["text", 7, None, 1.5, [1, 2], object()]


class KVStoreConformance:
    """Behaviour tests run against every engine and view; needs a `store` fixture."""

    # --- single reads and writes ---

    def test_get_missing_is_none(self, store: KVStoreAPI) -> None:
        assert store.get(b"missing") is None
        assert not store.has(b"missing")
        assert b"missing" not in store

    def test_put_then_get(self, store: KVStoreAPI) -> None:
        store.put(b"k", b"v")
        store.put(b"\x00\xff", b"\xff\x00" * 100)
        assert store.get(b"k") == b"v"
        assert store.get(b"\x00\xff") == b"\xff\x00" * 100
        assert store.has(b"k") and b"k" in store

    def test_empty_value_is_present(self, store: KVStoreAPI) -> None:
        store.put(b"empty", b"")
        assert store.get(b"empty") == b""
        assert store.has(b"empty")

    def test_put_overwrites(self, store: KVStoreAPI) -> None:
        store.put(b"k", b"1")
        store.put(b"k", b"2")
        assert store.get(b"k") == b"2"
        assert list(store.iterate()) == [(b"k", b"2")]

    def test_delete(self, store: KVStoreAPI) -> None:
        store.put(b"k", b"v")
        store.delete(b"k")
        assert store.get(b"k") is None
        store.delete(b"k")  # absent: no error
        store.delete(b"never")
        assert list(store.iterate()) == []

    def test_unsynced_writes_are_visible(self, store: KVStoreAPI) -> None:
        store.put(b"a", b"1", sync=False)
        store.apply({b"b": b"2"}, sync=False)
        with store.write_batch(sync=False) as batch:
            batch.put(b"c", b"3")
        store.delete(b"a", sync=False)
        assert list(store.iterate()) == [(b"b", b"2"), (b"c", b"3")]

    def test_multi_get(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"c": b""})
        assert store.multi_get([b"a", b"b", b"c", b"a"]) == [b"1", None, b"", b"1"]
        assert store.multi_get([]) == []
        assert store.multi_get(iter([b"c"])) == [b""]

    def test_bytes_like_arguments_are_copied_to_bytes(self, store: KVStoreAPI) -> None:
        key, value = bytearray(b"key"), bytearray(b"value")
        store.put(key, memoryview(value))
        key[0] = value[0] = 0
        assert store.get(b"key") == b"value"
        assert type(store.get(memoryview(b"key"))) is bytes
        assert store.has(bytearray(b"key"))
        [(k, v)] = list(store.iterate(bytearray(b"k")))
        assert type(k) is bytes and type(v) is bytes

    # --- argument validation ---

    @pytest.mark.parametrize("bad", BAD_TYPES, ids=lambda b: type(b).__name__)
    def test_rejects_non_bytes_key(self, store: KVStoreAPI, bad: Any) -> None:
        calls: list[Callable[[], Any]] = [
            lambda: store.get(bad),
            lambda: store.has(bad),
            lambda: store.put(bad, b"v"),
            lambda: store.delete(bad),
            lambda: store.multi_get([b"ok", bad]),
            lambda: store.apply([(bad, b"v")]),
            lambda: store.apply({}, [bad]),
        ]
        for call in calls:
            with pytest.raises(StorageArgumentError) as info:
                call()
            assert info.value.argument == "key"
            assert info.value.code == "storage_invalid_argument"
            assert "bytes" in str(info.value)
        assert list(store.iterate()) == []

    @pytest.mark.parametrize("bad", BAD_TYPES, ids=lambda b: type(b).__name__)
    def test_rejects_non_bytes_value(self, store: KVStoreAPI, bad: Any) -> None:
        with pytest.raises(StorageArgumentError) as info:
            store.put(b"k", bad)
        assert info.value.argument == "value"
        with pytest.raises(StorageArgumentError):
            store.apply([(b"k", bad)])
        assert store.get(b"k") is None

    def test_rejects_empty_key(self, store: KVStoreAPI) -> None:
        for call in (lambda: store.put(b"", b"v"), lambda: store.get(b""), lambda: store.delete(bytearray())):
            with pytest.raises(StorageArgumentError, match="empty") as info:
                call()
            assert info.value.argument == "key"

    def test_key_size_limit(self, store: KVStoreAPI) -> None:
        big = b"k" * (MAX_KEY_SIZE - 16)  # leaves room for a namespace prefix
        store.put(big, b"v")
        assert store.get(big) == b"v"
        with pytest.raises(StorageArgumentError, match=str(MAX_KEY_SIZE)) as info:
            store.put(b"k" * (MAX_KEY_SIZE + 1), b"v")
        assert info.value.argument == "key"

    def test_value_size_limit(self, store: KVStoreAPI) -> None:
        store.put(b"k", b"v" * (1 << 20))
        assert store.get(b"k") == b"v" * (1 << 20)
        with pytest.raises(StorageArgumentError, match=str(MAX_VALUE_SIZE)) as info:
            store.put(b"k", bytes(MAX_VALUE_SIZE + 1))
        assert info.value.argument == "value"
        assert store.get(b"k") == b"v" * (1 << 20)

    @pytest.mark.parametrize("argument", ["prefix", "start", "stop"])
    def test_rejects_bad_iteration_bounds(self, store: KVStoreAPI, argument: str) -> None:
        with pytest.raises(StorageArgumentError) as info:
            store.iterate(**{argument: "text"})  # raised at the call, not on first next()
        assert info.value.argument == argument

    # --- ordered iteration ---

    def test_iterate_is_bytewise_ordered(self, store: KVStoreAPI) -> None:
        shuffled = EDGE_KEYS[::2] + EDGE_KEYS[1::2]
        store.apply([(k, k + b"=") for k in shuffled])
        assert [k for k, _ in store.iterate()] == sorted(EDGE_KEYS)
        assert [k for k, _ in store.iterate(reverse=True)] == sorted(EDGE_KEYS, reverse=True)
        assert all(v == k + b"=" for k, v in store.iterate())

    def test_iterate_ranges_match_model(self, store: KVStoreAPI) -> None:
        model = {k: bytes([i]) for i, k in enumerate(EDGE_KEYS)}
        store.apply(model)
        for prefix, start, stop, reverse in itertools.product(
            EDGE_PREFIXES, EDGE_BOUNDS, EDGE_BOUNDS, (False, True)
        ):
            got = list(store.iterate(prefix, start=start, stop=stop, reverse=reverse))
            assert got == model_range(model, prefix, start, stop, reverse), (prefix, start, stop, reverse)

    def test_iterate_prefix_of_all_ff(self, store: KVStoreAPI) -> None:
        store.apply({b"\xfe\xff": b"1", b"\xff": b"2", b"\xff\xff": b"3", b"\xff\xff\x00": b"4"})
        assert [k for k, _ in store.iterate(b"\xff\xff")] == [b"\xff\xff", b"\xff\xff\x00"]
        assert [k for k, _ in store.iterate(b"\xfe")] == [b"\xfe\xff"]
        assert [k for k, _ in store.iterate(b"\xff", reverse=True)] == [b"\xff\xff\x00", b"\xff\xff", b"\xff"]

    def test_reverse_scan_whose_first_key_is_start(self, store: KVStoreAPI) -> None:
        # plyvel 1.5.1 returns nothing here unless the engine works around it.
        store.apply({b"a": b"1", b"b": b"2", b"b\x00": b"3", b"c": b"4"})
        assert list(store.iterate(b"c", reverse=True)) == [(b"c", b"4")]
        assert list(store.iterate(start=b"c", reverse=True)) == [(b"c", b"4")]
        assert list(store.iterate(start=b"b", stop=b"b\x00", reverse=True)) == [(b"b", b"2")]
        assert list(store.iterate(start=b"b", stop=b"c", reverse=True)) == [(b"b\x00", b"3"), (b"b", b"2")]

    def test_iterate_empty_and_inverted_ranges(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2"})
        assert list(store.iterate(start=b"b", stop=b"a")) == []
        assert list(store.iterate(start=b"b", stop=b"b")) == []
        assert list(store.iterate(stop=b"")) == []
        assert list(store.iterate(b"c")) == []
        assert list(store.iterate(b"a", start=b"b")) == []

    def test_iterate_sees_a_consistent_view(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2", b"c": b"3"})
        items = store.iterate()
        assert next(items) == (b"a", b"1")
        store.apply({b"bb": b"new", b"c": b"changed"}, [b"b"])
        assert list(items) == [(b"b", b"2"), (b"c", b"3")]
        assert list(store.iterate()) == [(b"a", b"1"), (b"bb", b"new"), (b"c", b"changed")]

    def test_abandoned_iterator_is_harmless(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2"})
        items = store.iterate()
        next(items)
        del items
        store.put(b"c", b"3")
        assert len(list(store.iterate())) == 3

    # --- write batches ---

    def test_batch_commits_on_exit(self, store: KVStoreAPI) -> None:
        store.apply({b"old": b"x"})
        with store.write_batch() as batch:
            batch.put(b"a", b"1")
            batch.put(b"b", b"2")
            batch.delete(b"old")
        assert list(store.iterate()) == [(b"a", b"1"), (b"b", b"2")]

    def test_batch_is_discarded_when_the_block_raises(self, store: KVStoreAPI) -> None:
        store.apply({b"keep": b"x"})
        with pytest.raises(Boom):
            with store.write_batch() as batch:
                batch.put(b"a", b"1")
                batch.delete(b"keep")
                batch.put(b"b", b"2")
                raise Boom
        assert list(store.iterate()) == [(b"keep", b"x")]

    def test_batch_with_bad_argument_writes_nothing(self, store: KVStoreAPI) -> None:
        with pytest.raises(StorageArgumentError):
            with store.write_batch() as batch:
                batch.put(b"a", b"1")
                batch.put("b", b"2")  # type: ignore[arg-type]
        assert list(store.iterate()) == []

    def test_batch_writes_are_invisible_until_commit(self, store: KVStoreAPI) -> None:
        store.put(b"a", b"old")
        with store.write_batch() as batch:
            batch.put(b"a", b"new")
            batch.put(b"b", b"2")
            assert store.get(b"a") == b"old"
            assert store.get(b"b") is None
            assert list(store.iterate()) == [(b"a", b"old")]
        assert store.get(b"a") == b"new"

    def test_batch_last_operation_per_key_wins(self, store: KVStoreAPI) -> None:
        store.put(b"gone", b"x")
        with store.write_batch() as batch:
            batch.put(b"a", b"1")
            batch.delete(b"a")
            batch.delete(b"b")
            batch.put(b"b", b"2")
            batch.put(b"c", b"1")
            batch.put(b"c", b"3")
            batch.put(b"gone", b"y")
            batch.delete(b"gone")
        assert list(store.iterate()) == [(b"b", b"2"), (b"c", b"3")]

    def test_batch_len_counts_operations(self, store: KVStoreAPI) -> None:
        with store.write_batch() as batch:
            assert len(batch) == 0
            batch.put(b"a", b"1")
            batch.delete(b"b")
            assert len(batch) == 2

    def test_batch_is_unusable_after_its_block(self, store: KVStoreAPI) -> None:
        with store.write_batch() as batch:
            batch.put(b"a", b"1")
        with pytest.raises(StorageClosedError):
            batch.put(b"b", b"2")
        with pytest.raises(StorageClosedError):
            with batch:
                pass
        assert list(store.iterate()) == [(b"a", b"1")]

    def test_empty_batch(self, store: KVStoreAPI) -> None:
        with store.write_batch():
            pass
        store.apply({})
        assert list(store.iterate()) == []

    def test_large_batch(self, store: KVStoreAPI) -> None:
        model = {b"k%05d" % i: b"v" * (i % 50) for i in range(3000)}
        with store.write_batch() as batch:
            for key, value in reversed(model.items()):
                batch.put(key, value)
        assert list(store.iterate()) == sorted(model.items())
        store.apply({}, [b"k%05d" % i for i in range(0, 3000, 2)])
        assert [k for k, _ in store.iterate()] == [b"k%05d" % i for i in range(1, 3000, 2)]

    def test_batch_view_of_own_batch(self, store: KVStoreAPI) -> None:
        with store.write_batch() as batch:
            store.batch_view(batch).put(b"a", b"1")
        assert store.get(b"a") == b"1"

    def test_batch_view_rejects_a_foreign_batch(self, store: KVStoreAPI) -> None:
        other = MemoryKV()
        with other.write_batch() as batch:
            with pytest.raises(StorageArgumentError) as info:
                store.batch_view(batch)
            assert info.value.argument == "batch"
        with pytest.raises(StorageArgumentError):
            store.batch_view("not a batch")  # type: ignore[arg-type]

    # --- apply ---

    def test_apply_puts_then_deletes(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2"})
        store.apply([(b"c", b"3"), (b"d", b"4")], [b"a", b"d", b"zz"])
        assert list(store.iterate()) == [(b"b", b"2"), (b"c", b"3")]
        store.apply((kv for kv in [(b"e", b"5")]), iter([b"b"]))
        assert list(store.iterate()) == [(b"c", b"3"), (b"e", b"5")]

    def test_apply_with_a_bad_argument_writes_nothing(self, store: KVStoreAPI) -> None:
        store.put(b"keep", b"x")
        with pytest.raises(StorageArgumentError):
            store.apply({b"a": b"1", b"b": "two"}, [b"keep"])  # type: ignore[dict-item]
        with pytest.raises(StorageArgumentError):
            store.apply({b"a": b"1"}, [b"keep", b""])
        assert list(store.iterate()) == [(b"keep", b"x")]

    # --- snapshots ---

    def test_snapshot_isolation(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2"})
        with store.snapshot() as snap:
            store.apply({b"a": b"changed", b"c": b"3"}, [b"b"])
            assert snap.get(b"a") == b"1"
            assert snap.get(b"b") == b"2" and snap.has(b"b") and b"b" in snap
            assert snap.get(b"c") is None
            assert snap.multi_get([b"a", b"c"]) == [b"1", None]
            assert list(snap.iterate()) == [(b"a", b"1"), (b"b", b"2")]
            assert list(snap.iterate(b"b", reverse=True)) == [(b"b", b"2")]
            assert snap.store is not None
        assert list(store.iterate()) == [(b"a", b"changed"), (b"c", b"3")]

    def test_snapshots_are_independent(self, store: KVStoreAPI) -> None:
        store.put(b"k", b"1")
        first = store.snapshot()
        store.put(b"k", b"2")
        second = store.snapshot()
        store.delete(b"k")
        assert (first.get(b"k"), second.get(b"k"), store.get(b"k")) == (b"1", b"2", None)
        first.close()
        assert second.get(b"k") == b"2"
        second.close()

    def test_closed_snapshot_refuses_reads(self, store: KVStoreAPI) -> None:
        snap = store.snapshot()
        assert not snap.closed
        snap.close()
        snap.close()  # idempotent
        assert snap.closed
        for call in (lambda: snap.get(b"a"), lambda: snap.iterate(), lambda: snap.multi_get([b"a"])):
            with pytest.raises(StorageClosedError):
                call()
        store.put(b"a", b"1")  # the store is unaffected

    def test_snapshot_view_of_own_snapshot(self, store: KVStoreAPI) -> None:
        store.put(b"a", b"1")
        with store.snapshot() as snap:
            store.put(b"a", b"2")
            assert store.snapshot_view(snap).get(b"a") == b"1"
        with MemoryKV().snapshot() as foreign:
            with pytest.raises(StorageArgumentError):
                store.snapshot_view(foreign)

    # --- closing ---

    def test_closed_store_refuses_everything(self, store: KVStoreAPI) -> None:
        store.put(b"a", b"1")
        assert not store.closed
        store.close()
        store.close()  # idempotent
        assert store.closed
        calls: list[Callable[[], Any]] = [
            lambda: store.get(b"a"),
            lambda: store.has(b"a"),
            lambda: store.multi_get([b"a"]),
            lambda: store.iterate(),
            lambda: store.put(b"a", b"2"),
            lambda: store.delete(b"a"),
            lambda: store.apply({b"a": b"2"}),
            lambda: store.write_batch(),
            lambda: store.snapshot(),
        ]
        for call in calls:
            with pytest.raises(StorageClosedError) as info:
                call()
            assert info.value.code == "storage_closed"

    def test_context_manager_closes(self, store: KVStoreAPI) -> None:
        with store as same:
            assert same is store
            store.put(b"a", b"1")
        assert store.closed
        with pytest.raises(StorageClosedError):
            store.get(b"a")


class RootStoreConformance(KVStoreConformance):
    """Extra behaviour of a root store (not a view): closing it stops its snapshots and iterators."""

    def test_close_releases_snapshots(self, store: KVStoreAPI) -> None:
        store.put(b"a", b"1")
        snap = store.snapshot()
        store.close()
        assert snap.closed
        with pytest.raises(StorageClosedError):
            snap.get(b"a")
        snap.close()  # still fine

    def test_close_during_iteration(self, store: KVStoreAPI) -> None:
        store.apply({b"a": b"1", b"b": b"2", b"c": b"3"})
        items = store.iterate()
        assert next(items) == (b"a", b"1")
        store.close()
        with pytest.raises(StorageClosedError):
            list(items)

    def test_batch_cannot_commit_after_close(self, store: KVStoreAPI) -> None:
        batch = store.write_batch()
        with pytest.raises(StorageClosedError):
            with batch:
                batch.put(b"a", b"1")
                store.close()
