"""Partial implementations shared by the engines: closed checks, batch life cycle, apply(), views."""
from __future__ import annotations

from abc import abstractmethod
from types import TracebackType
from typing import Iterable, Mapping

from chain.storage.errors import StorageArgumentError, StorageClosedError
from chain.storage.interfaces import KVStoreAPI, SnapshotAPI, WriteBatchAPI
from chain.storage.keyspace import as_key, as_value


class BaseKVStore(KVStoreAPI):
    """A root store: owns its data, so batch_view/snapshot_view only accept its own batches and snapshots."""

    _closed = False

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self!r} is closed")

    def has(self, key: bytes) -> bool:
        """True iff key is present."""
        return self.get(key) is not None

    def apply(
        self,
        puts: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]],
        deletes: Iterable[bytes] = (),
        *,
        sync: bool = True,
    ) -> None:
        """Write puts, then deletes, in one atomic batch; a bad argument anywhere writes nothing."""
        items = puts.items() if isinstance(puts, Mapping) else puts
        with self.write_batch(sync=sync) as batch:
            for key, value in items:
                batch.put(key, value)
            for key in deletes:
                batch.delete(key)

    def batch_view(self, batch: WriteBatchAPI) -> WriteBatchAPI:
        """The raw batch under `batch`, after checking that it belongs to this store."""
        if not isinstance(batch, WriteBatchAPI) or batch.store is not self:
            raise StorageArgumentError("batch", f"is not a write batch of {self!r}")
        return batch.raw

    def snapshot_view(self, snapshot: SnapshotAPI) -> SnapshotAPI:
        """The raw snapshot under `snapshot`, after checking that it belongs to this store."""
        if not isinstance(snapshot, SnapshotAPI) or snapshot.store is not self:
            raise StorageArgumentError("snapshot", f"is not a snapshot of {self!r}")
        return snapshot.raw


class BaseWriteBatch(WriteBatchAPI):
    """Checks arguments as they are buffered and runs the commit-or-discard life cycle; engines buffer."""

    def __init__(self, store: KVStoreAPI, sync: bool) -> None:
        self._store = store
        self._sync = sync
        self._open = True
        self._count = 0

    @property
    def store(self) -> KVStoreAPI:
        """The store this batch commits to."""
        return self._store

    def _check_open(self) -> None:
        if not self._open:
            raise StorageClosedError("write batch is no longer open (it was committed or discarded)")

    def put(self, key: bytes, value: bytes) -> None:
        """Buffer key := value."""
        self._check_open()
        self._put(as_key(key), as_value(value))
        self._count += 1

    def delete(self, key: bytes) -> None:
        """Buffer the removal of key."""
        self._check_open()
        self._delete(as_key(key))
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> BaseWriteBatch:
        self._check_open()
        if self._store.closed:
            raise StorageClosedError(f"{self._store!r} is closed")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._check_open()
        self._open = False
        if exc_type is None:
            self._commit()
        else:
            self._discard()

    @abstractmethod
    def _put(self, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    def _delete(self, key: bytes) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...
