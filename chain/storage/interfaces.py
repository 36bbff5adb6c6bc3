"""Abstract interfaces of the storage engines: an ordered bytes -> bytes map with atomic batches and snapshots.

Every engine (LevelDB, in-memory) and every view (a namespace prefix) satisfies
these, and all pass the one conformance suite in tests/chain/storage. Keys are
ordered by unsigned bytewise comparison, as LevelDB orders them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Iterable, Iterator, Mapping


class ReadableKVAPI(ABC):
    """Read access to an ordered bytes -> bytes map: a store, a namespace view or a snapshot."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under key, or None if absent."""

    @abstractmethod
    def has(self, key: bytes) -> bool:
        """True iff key is present."""

    def __contains__(self, key: object) -> bool:
        return self.has(key)  # type: ignore[arg-type]

    @abstractmethod
    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys in order (None where absent), all read at one point in time."""

    @abstractmethod
    def iterate(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in bytewise key order (descending if reverse).

        Yields exactly the keys k with k.startswith(prefix), start <= k
        (if start is given) and k < stop (if stop is given): start and stop are
        full keys in the same key space as the keys yielded, clipped to the
        prefix range. Arguments are checked when iterate() is called; the
        iterator reads one consistent point-in-time view fixed at that call,
        so writes made while iterating are not seen.
        """


class SnapshotAPI(ReadableKVAPI):
    """A consistent, read-only point-in-time view; release it with close() (or use it as a context manager)."""

    @property
    @abstractmethod
    def store(self) -> KVStoreAPI:
        """The underlying (root) store the snapshot was taken of."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once the snapshot or its store is closed."""

    @property
    def raw(self) -> SnapshotAPI:
        """The snapshot of the underlying store this one reads (itself, unless it is a namespace view)."""
        return self

    @abstractmethod
    def close(self) -> None:
        """Release the snapshot; idempotent. Later reads raise StorageClosedError."""

    def __enter__(self) -> SnapshotAPI:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class WriteBatchAPI(ABC):
    """Puts and deletes buffered in memory and committed atomically: all or nothing.

    Use it as a context manager: the batch commits when the `with` block exits
    normally and is discarded entirely if the block raises. Reads through the
    store (or a snapshot) during the block do NOT see the buffered writes. For
    one key, the last put/delete buffered wins. A batch is used from one
    thread and cannot be reused after its `with` block.
    """

    @property
    @abstractmethod
    def store(self) -> KVStoreAPI:
        """The underlying (root) store this batch commits to."""

    @property
    def raw(self) -> WriteBatchAPI:
        """The batch of the underlying store this one writes into (itself, unless it is a namespace view)."""
        return self

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None:
        """Buffer key := value; arguments are checked now, not at commit."""

    @abstractmethod
    def delete(self, key: bytes) -> None:
        """Buffer the removal of key (absent keys are fine)."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of operations buffered in the underlying batch."""

    @abstractmethod
    def __enter__(self) -> WriteBatchAPI: ...

    @abstractmethod
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class KVStoreAPI(ReadableKVAPI):
    """An ordered bytes -> bytes store with atomic write batches, snapshots and durable commits.

    Durability: every write method takes `sync`, True by default. With
    sync=True the write is on stable storage (fsync'd) when the call returns,
    so an acknowledged commit survives a crash or power loss; sync=False
    survives a process crash but may lose the last writes on an OS crash.
    Atomicity: a write batch (or apply()) is applied all or nothing, even
    across a crash. One block of the ledger commits in one batch.
    """

    @abstractmethod
    def put(self, key: bytes, value: bytes, *, sync: bool = True) -> None:
        """Store one key (for tools and tests; the ledger writes through batches)."""

    @abstractmethod
    def delete(self, key: bytes, *, sync: bool = True) -> None:
        """Remove one key; absent keys are fine."""

    @abstractmethod
    def write_batch(self, *, sync: bool = True) -> WriteBatchAPI:
        """A new atomic batch; use it as a context manager."""

    @abstractmethod
    def batch_view(self, batch: WriteBatchAPI) -> WriteBatchAPI:
        """A writer into `batch` (of the same underlying store) that addresses this store's key space.

        This is how one batch spans several namespaces:
        `with root.write_batch() as b: blocks.batch_view(b).put(...); state.batch_view(b).put(...)`.
        A view does not commit on its own; the batch's `with` block does.
        """

    @abstractmethod
    def apply(
        self,
        puts: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]],
        deletes: Iterable[bytes] = (),
        *,
        sync: bool = True,
    ) -> None:
        """Write puts and deletes in one atomic batch; deletes are applied after puts (a key in both ends absent)."""

    @abstractmethod
    def snapshot(self) -> SnapshotAPI:
        """A consistent point-in-time read view, unaffected by later writes; close it when done."""

    @abstractmethod
    def snapshot_view(self, snapshot: SnapshotAPI) -> ReadableKVAPI:
        """A reader of `snapshot` (of the same underlying store) addressing this store's key space."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once close() was called (on this store or, for a view, on its underlying store)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store and its snapshots; idempotent. Later use raises StorageClosedError."""

    def __enter__(self) -> KVStoreAPI:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
