"""LevelDBKV: the default engine, LevelDB through plyvel.

LevelDB applies a write batch atomically (one record in its write-ahead log,
replayed all-or-nothing on recovery) and, with sync=True, fsyncs the log before
returning. It takes an exclusive lock on the database directory, so one
process opens a database: the node. Everything else reads through the node's
API. plyvel's own exceptions never escape: they become StorageError subclasses
that name the path.
"""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Mapping, NoReturn

import plyvel

from chain.storage.base import BaseKVStore, BaseWriteBatch
from chain.storage.errors import (
    StorageClosedError,
    StorageCorruptError,
    StorageError,
    StorageIOError,
    StorageLockedError,
    StorageNotFoundError,
)
from chain.storage.interfaces import KVStoreAPI, SnapshotAPI
from chain.storage.keyspace import MAX_KEY_SIZE, MAX_VALUE_SIZE, as_key, as_value, key_range

log = logging.getLogger(__name__)

MiB = 1024 * 1024


@dataclass(frozen=True)
class LevelDBOptions:
    """Tuning options passed to LevelDB when the database is opened (none of them changes the data format).

    The defaults suit a node: a 64 MiB block cache, 10-bit bloom filters (one
    disk read per point lookup of an absent key in ~1% of cases instead of one
    per level), no compression (the records are mostly hashes and signatures:
    snappy cannot shrink them and took about a tenth of a validator's CPU under
    load), 16 MiB memtable, paranoid checks off.
    """

    cache_size: int = 64 * MiB
    bloom_filter_bits: int = 10
    compression: str | None = None
    write_buffer_size: int = 16 * MiB
    block_size: int = 4096
    max_open_files: int = 1000
    max_file_size: int = 2 * MiB
    paranoid_checks: bool = False

    def plyvel_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of plyvel.DB for these options."""
        kwargs = asdict(self)
        kwargs["lru_cache_size"] = kwargs.pop("cache_size")
        return kwargs


def _open_iterator(source: Any, low: bytes | None, high: bytes | None, reverse: bool) -> Any:
    """A plyvel iterator over [low, high); reverse ones are opened without `low` (the caller stops there).

    plyvel 1.5.1 yields nothing from a reverse iterator whose first key (the
    largest in range) equals `start`: its first step compares start >= key
    without honouring include_start. So the lower bound of a reverse scan is
    checked in Python instead.
    """
    if reverse:
        return source.iterator(stop=high, reverse=True)
    return source.iterator(start=low, stop=high)


def _message(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


class LevelDBKV(BaseKVStore):
    """A LevelDB database directory; create_if_missing=False refuses (without creating anything) a missing one.

    Thread-safe for concurrent reads and writes; a batch, snapshot or iterator
    belongs to one thread. close() must not race with other calls on the store.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create_if_missing: bool = True,
        options: LevelDBOptions | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.options = options or LevelDBOptions()
        if not create_if_missing and not os.path.isfile(os.path.join(self.path, "CURRENT")):
            # LevelDB itself would create the directory, a LOCK and a LOG file before refusing.
            raise StorageNotFoundError(self.path, f"no database at {self.path}")
        try:
            self._db = plyvel.DB(self.path, create_if_missing=create_if_missing, **self.options.plyvel_kwargs())
        except plyvel.IOError as exc:
            message = _message(exc)
            if "lock" in message.lower():
                raise self._locked_error(message) from None
            raise StorageIOError(f"cannot open database at {self.path}: {message}") from exc
        except plyvel.CorruptionError as exc:
            raise StorageCorruptError(
                self.path, f"database at {self.path} is corrupt: {_message(exc)}; restore it or resync the node"
            ) from exc
        except plyvel.Error as exc:
            raise StorageError(f"cannot open database at {self.path}: {_message(exc)}") from exc
        log.debug("opened LevelDB at %s", self.path)

    def _locked_error(self, message: str) -> StorageLockedError:
        if "already held by process" in message:
            return StorageLockedError(
                self.path,
                f"database at {self.path} is already open in this process; "
                "share the one LevelDBKV (or close it before reopening)",
            )
        return StorageLockedError(
            self.path,
            f"database at {self.path} is in use by another process; "
            "only the node process opens it — read through the node's API",
        )

    def __repr__(self) -> str:
        return f"LevelDBKV({self.path!r})"

    def _raise(self, exc: Exception) -> NoReturn:
        """Translate a plyvel (or closed-handle RuntimeError) exception."""
        if isinstance(exc, RuntimeError) or self._closed:
            raise StorageClosedError(f"{self!r} is closed") from None
        if isinstance(exc, plyvel.CorruptionError):
            raise StorageCorruptError(self.path, f"database at {self.path} is corrupt: {_message(exc)}") from exc
        raise StorageIOError(f"database at {self.path}: {_message(exc)}") from exc

    def get(self, key: bytes) -> bytes | None:
        """The value of key, or None."""
        if type(key) is not bytes or not key or len(key) > MAX_KEY_SIZE:
            key = as_key(key)
        try:
            return self._db.get(key)  # a closed handle raises RuntimeError: StorageClosedError
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys, read from one implicit snapshot."""
        checked = [as_key(key) for key in keys]
        self._check_open()
        try:
            if len(checked) <= 1:
                return [self._db.get(key) for key in checked]
            snap = self._db.snapshot()
            try:
                return [snap.get(key) for key in checked]
            finally:
                snap.close()
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def iterate(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in key order, from LevelDB's implicit snapshot at the time of the call."""
        bounds = key_range(prefix, start, stop)
        self._check_open()
        if bounds is None:
            return iter(())
        try:
            it = _open_iterator(self._db, bounds[0], bounds[1], reverse)
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)
        return self._scan(it, bounds[0] if reverse else None)

    def _scan(self, it: Any, floor: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        try:
            try:
                for key, value in it:
                    if floor is not None and key < floor:
                        return
                    yield key, value
            except (RuntimeError, plyvel.Error) as exc:
                self._raise(exc)
        finally:
            it.close()

    def put(self, key: bytes, value: bytes, *, sync: bool = True) -> None:
        """Store one key."""
        key, value = as_key(key), as_value(value)
        self._check_open()
        try:
            self._db.put(key, value, sync=sync)
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def delete(self, key: bytes, *, sync: bool = True) -> None:
        """Remove one key."""
        key = as_key(key)
        self._check_open()
        try:
            self._db.delete(key, sync=sync)
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def apply(
        self,
        puts: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]],
        deletes: Iterable[bytes] = (),
        *,
        sync: bool = True,
    ) -> None:
        """Write puts, then deletes, in one atomic batch; a bad argument anywhere writes nothing.

        Same as a write_batch() block, but the plyvel batch is filled directly, with the
        argument checks inlined for plain bytes: a block commit writes thousands of records.
        A bad argument raises before the batch is written, so nothing is.
        """
        self._check_open()
        items = puts.items() if isinstance(puts, Mapping) else puts
        try:
            batch = self._db.write_batch(sync=sync)
            put, delete = batch.put, batch.delete
            for key, value in items:
                if type(key) is not bytes or type(value) is not bytes or not key or len(key) > MAX_KEY_SIZE \
                        or len(value) > MAX_VALUE_SIZE:
                    key, value = as_key(key), as_value(value)
                put(key, value)
            for key in deletes:
                delete(as_key(key))
            batch.write()
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def write_batch(self, *, sync: bool = True) -> LevelDBWriteBatch:
        """A new atomic batch (a LevelDB WriteBatch, written with one log record)."""
        self._check_open()
        try:
            return LevelDBWriteBatch(self, self._db.write_batch(sync=sync), sync)
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def snapshot(self) -> LevelDBSnapshot:
        """A LevelDB snapshot; close it to let compaction drop the versions it pins."""
        self._check_open()
        try:
            return LevelDBSnapshot(self, self._db.snapshot())
        except (RuntimeError, plyvel.Error) as exc:
            self._raise(exc)

    def close(self) -> None:
        """Close the database (and with it every open snapshot and iterator), releasing the lock."""
        if not self._closed:
            self._closed = True
            self._db.close()
            log.debug("closed LevelDB at %s", self.path)


class LevelDBWriteBatch(BaseWriteBatch):
    """A buffered plyvel WriteBatch."""

    _store: LevelDBKV

    def __init__(self, store: LevelDBKV, batch: Any, sync: bool) -> None:
        super().__init__(store, sync)
        self._batch = batch

    def _put(self, key: bytes, value: bytes) -> None:
        self._batch.put(key, value)

    def _delete(self, key: bytes) -> None:
        self._batch.delete(key)

    def _commit(self) -> None:
        self._store._check_open()
        try:
            self._batch.write()
        except (RuntimeError, plyvel.Error) as exc:
            self._store._raise(exc)
        finally:
            self._batch.clear()

    def _discard(self) -> None:
        self._batch.clear()


class LevelDBSnapshot(SnapshotAPI):
    """A plyvel snapshot."""

    def __init__(self, store: LevelDBKV, snapshot: Any) -> None:
        self._store = store
        self._snap = snapshot
        self._closed = False

    def __repr__(self) -> str:
        return f"LevelDBSnapshot(of {self._store!r})"

    @property
    def store(self) -> KVStoreAPI:
        """The store the snapshot was taken of."""
        return self._store

    @property
    def closed(self) -> bool:
        """True once this snapshot or its store is closed."""
        return self._closed or self._store.closed

    def _check_open(self) -> None:
        if self.closed:
            raise StorageClosedError(f"{self!r} is closed")

    def get(self, key: bytes) -> bytes | None:
        """The value of key at snapshot time."""
        key = as_key(key)
        self._check_open()
        try:
            return self._snap.get(key)
        except (RuntimeError, plyvel.Error) as exc:
            self._store._raise(exc)

    def has(self, key: bytes) -> bool:
        """True iff key was present at snapshot time."""
        return self.get(key) is not None

    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys at snapshot time."""
        checked = [as_key(key) for key in keys]
        self._check_open()
        try:
            return [self._snap.get(key) for key in checked]
        except (RuntimeError, plyvel.Error) as exc:
            self._store._raise(exc)

    def iterate(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in key order at snapshot time."""
        bounds = key_range(prefix, start, stop)
        self._check_open()
        if bounds is None:
            return iter(())
        try:
            it = _open_iterator(self._snap, bounds[0], bounds[1], reverse)
        except (RuntimeError, plyvel.Error) as exc:
            self._store._raise(exc)
        return self._scan(it, bounds[0] if reverse else None)

    def _scan(self, it: Any, floor: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        try:
            try:
                for key, value in it:
                    if self._closed:
                        raise StorageClosedError(f"{self!r} was closed during iteration")
                    if floor is not None and key < floor:
                        return
                    yield key, value
            except (RuntimeError, plyvel.Error) as exc:
                self._store._raise(exc)
        finally:
            it.close()

    def close(self) -> None:
        """Release the snapshot."""
        if not self._closed:
            self._closed = True
            if not self._store.closed:
                self._snap.close()
