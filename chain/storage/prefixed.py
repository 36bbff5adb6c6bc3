"""PrefixedKV: a namespace of a store, every key transparently prefixed.

The ledger keeps blocks, transactions, state nodes and indexes in one
database, each under a short prefix, and commits one block in one batch that
spans them all:

    with root.write_batch() as batch:
        blocks.batch_view(batch).put(height_key, block)
        state.batch_view(batch).put(node_key, node)

Prefixes of sibling namespaces must be prefix-free (no prefix starts another),
or one namespace would see the other's keys; check_prefix_free() checks that.
"""
from __future__ import annotations

import logging
from types import TracebackType
from typing import Iterable, Iterator, cast

from chain.storage.base import BaseKVStore
from chain.storage.errors import StorageArgumentError, StorageClosedError
from chain.storage.interfaces import KVStoreAPI, ReadableKVAPI, SnapshotAPI, WriteBatchAPI
from chain.storage.keyspace import as_bound, as_key, key_range

log = logging.getLogger(__name__)


def check_prefix_free(prefixes: Iterable[bytes]) -> None:
    """Raise StorageArgumentError if a namespace prefix is empty, repeated or starts another one."""
    ordered = sorted(as_key(p, "prefix") for p in prefixes)
    for shorter, longer in zip(ordered, ordered[1:]):
        if longer.startswith(shorter):
            raise StorageArgumentError("prefix", f"namespace {shorter!r} overlaps namespace {longer!r}")


def _strip(items: Iterator[tuple[bytes, bytes]], size: int) -> Iterator[tuple[bytes, bytes]]:
    for key, value in items:
        yield key[size:], value


class _PrefixedReader:
    """Reads of `_source` under `_prefix`; subclasses decide when the view is closed."""

    _source: ReadableKVAPI
    _prefix: bytes

    def _check_open(self) -> None:
        raise NotImplementedError

    def get(self, key: bytes) -> bytes | None:
        """The value of key in this namespace, or None."""
        key = as_key(key)
        self._check_open()
        return self._source.get(self._prefix + key)

    def has(self, key: bytes) -> bool:
        """True iff key is present in this namespace."""
        return self.get(key) is not None

    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys in this namespace, read at one point in time."""
        prefix = self._prefix
        full = [prefix + as_key(key) for key in keys]
        self._check_open()
        return self._source.multi_get(full)

    def iterate(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs of this namespace in key order, keys without the namespace prefix."""
        key_range(prefix, start, stop)  # validate with the caller's argument names
        self._check_open()
        ns = self._prefix
        start_b, stop_b = as_bound(start, "start"), as_bound(stop, "stop")
        items = self._source.iterate(
            ns + (prefix or b""),
            start=ns + (start_b or b"\x00"),  # never the bare prefix: it is no key of this namespace
            stop=None if stop_b is None else ns + stop_b,
            reverse=reverse,
        )
        return _strip(items, len(ns))


class PrefixedKV(_PrefixedReader, BaseKVStore):
    """The keys of `store` that start with `prefix`, seen without it; close() closes this view only.

    A PrefixedKV of a PrefixedKV is flattened: it addresses the root store
    with the concatenated prefix. batch_view() and snapshot_view() accept any
    batch or snapshot of that root store, including one obtained through
    another namespace (or this one): the view always writes or reads this
    namespace's keys, never a doubly prefixed key.
    """

    def __init__(self, store: KVStoreAPI, prefix: bytes) -> None:
        prefix = as_key(prefix, "prefix")
        if isinstance(store, PrefixedKV):
            prefix = store.prefix + prefix
            store = store.underlying
        self._store = store
        self._source = store
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"PrefixedKV({self._store!r}, {self._prefix!r})"

    @property
    def prefix(self) -> bytes:
        """This namespace's full prefix in the underlying store."""
        return self._prefix

    @property
    def underlying(self) -> KVStoreAPI:
        """The (root) store this view addresses."""
        return self._store

    @property
    def closed(self) -> bool:
        """True once this view or the store under it is closed."""
        return self._closed or self._store.closed

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self!r} is closed")

    def put(self, key: bytes, value: bytes, *, sync: bool = True) -> None:
        """Store one key in this namespace."""
        key = as_key(key)
        self._check_open()
        self._store.put(self._prefix + key, value, sync=sync)

    def delete(self, key: bytes, *, sync: bool = True) -> None:
        """Remove one key from this namespace."""
        key = as_key(key)
        self._check_open()
        self._store.delete(self._prefix + key, sync=sync)

    def write_batch(self, *, sync: bool = True) -> PrefixedBatch:
        """A new atomic batch of the underlying store, addressed in this namespace."""
        self._check_open()
        return PrefixedBatch(self._store.write_batch(sync=sync), self._prefix, owner=True)

    def batch_view(self, batch: WriteBatchAPI) -> PrefixedBatch:
        """A writer into a batch of the underlying store (however obtained), addressed in this namespace."""
        self._check_open()
        return PrefixedBatch(self._store.batch_view(batch), self._prefix, owner=False)

    def snapshot(self) -> PrefixedSnapshot:
        """A snapshot of the underlying store, read in this namespace."""
        self._check_open()
        return PrefixedSnapshot(self._store.snapshot(), self._prefix, owner=True)

    def snapshot_view(self, snapshot: SnapshotAPI) -> PrefixedSnapshot:
        """A reader of a snapshot of the underlying store (however obtained), addressed in this namespace."""
        self._check_open()
        raw = self._store.snapshot_view(snapshot)  # checks that it is a snapshot of our store
        return PrefixedSnapshot(cast(SnapshotAPI, raw), self._prefix, owner=False)

    def close(self) -> None:
        """Close this view; the underlying store stays open."""
        self._closed = True


class PrefixedBatch(WriteBatchAPI):
    """A batch of the root store (or a view of one) that prefixes every key; only an owner commits on exit."""

    def __init__(self, batch: WriteBatchAPI, prefix: bytes, *, owner: bool) -> None:
        self._batch = batch
        self._prefix = prefix
        self._owner = owner

    @property
    def store(self) -> KVStoreAPI:
        """The underlying (root) store the batch commits to."""
        return self._batch.store

    @property
    def raw(self) -> WriteBatchAPI:
        """The root store's batch under this namespace view."""
        return self._batch

    def put(self, key: bytes, value: bytes) -> None:
        """Buffer key := value in this namespace."""
        self._batch.put(self._prefix + as_key(key), value)

    def delete(self, key: bytes) -> None:
        """Buffer the removal of key from this namespace."""
        self._batch.delete(self._prefix + as_key(key))

    def __len__(self) -> int:
        return len(self._batch)

    def __enter__(self) -> PrefixedBatch:
        if self._owner:
            self._batch.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owner:
            self._batch.__exit__(exc_type, exc, tb)


class PrefixedSnapshot(_PrefixedReader, SnapshotAPI):
    """A snapshot of the root store (or a view of one) read in a namespace; only an owner releases it."""

    def __init__(self, snapshot: SnapshotAPI, prefix: bytes, *, owner: bool) -> None:
        self._snapshot = snapshot
        self._source = snapshot
        self._prefix = prefix
        self._owner = owner
        self._closed = False

    def __repr__(self) -> str:
        return f"PrefixedSnapshot({self._snapshot!r}, {self._prefix!r})"

    @property
    def store(self) -> KVStoreAPI:
        """The underlying (root) store the snapshot was taken of."""
        return self._snapshot.store

    @property
    def raw(self) -> SnapshotAPI:
        """The root store's snapshot under this namespace view."""
        return self._snapshot

    @property
    def closed(self) -> bool:
        """True once this view or the snapshot under it is closed."""
        return self._closed or self._snapshot.closed

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self!r} is closed")

    def close(self) -> None:
        """Close the view; an owning view releases the snapshot too."""
        self._closed = True
        if self._owner:
            self._snapshot.close()
