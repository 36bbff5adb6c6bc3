"""MemoryKV: the in-memory engine for tests and simulations (no durability).

State is a dict plus a sorted key list. Snapshots and iterators share that
state copy-on-write: taking one is O(1) and marks the state shared, and the
next write copies it (O(n)) before changing it. That keeps reads consistent
without locks held across iteration, at a cost that only matters for stores
far larger than tests use. All methods are thread-safe.
"""
from __future__ import annotations

import bisect
import logging
import threading
from typing import Iterable, Iterator

from chain.storage.base import BaseKVStore, BaseWriteBatch
from chain.storage.errors import StorageClosedError
from chain.storage.interfaces import KVStoreAPI, SnapshotAPI
from chain.storage.keyspace import as_key, as_value, key_range

log = logging.getLogger(__name__)

_DELETED = None
# Above this many operations, a commit re-sorts all keys instead of inserting one by one.
_RESORT_THRESHOLD = 64


class _State:
    """One immutable-once-shared generation of the data."""

    __slots__ = ("data", "keys")

    def __init__(self, data: dict[bytes, bytes], keys: list[bytes]) -> None:
        self.data = data
        self.keys = keys


def _scan(
    state: _State, owner: MemoryKV | MemorySnapshot, low: bytes | None, high: bytes | None, reverse: bool
) -> Iterator[tuple[bytes, bytes]]:
    keys, data = state.keys, state.data
    first = bisect.bisect_left(keys, low) if low is not None else 0
    end = bisect.bisect_left(keys, high) if high is not None else len(keys)
    indexes = range(end - 1, first - 1, -1) if reverse else range(first, end)
    for i in indexes:
        if owner.closed:
            raise StorageClosedError(f"{owner!r} was closed during iteration")
        key = keys[i]
        yield key, data[key]


class MemoryKV(BaseKVStore):
    """An ordered in-memory store; `sync` is accepted and ignored (nothing is durable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State({}, [])
        self._shared = False

    def __repr__(self) -> str:
        return f"MemoryKV(<{len(self._state.keys)} keys>)"

    def _view(self) -> _State:
        """The current state, marked shared so the next write copies it (call with the lock held)."""
        self._shared = True
        return self._state

    def _writable(self) -> _State:
        """The current state, copied first if a reader shares it (call with the lock held)."""
        if self._shared:
            self._state = _State(dict(self._state.data), list(self._state.keys))
            self._shared = False
        return self._state

    def get(self, key: bytes) -> bytes | None:
        """The value of key, or None."""
        key = as_key(key)
        with self._lock:
            self._check_open()
            return self._state.data.get(key)

    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys, read under one lock."""
        checked = [as_key(key) for key in keys]
        with self._lock:
            self._check_open()
            data = self._state.data
            return [data.get(key) for key in checked]

    def iterate(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        stop: bytes | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in key order over the state at the time of the call."""
        bounds = key_range(prefix, start, stop)
        with self._lock:
            self._check_open()
            if bounds is None:
                return iter(())
            state = self._view()
        return _scan(state, self, bounds[0], bounds[1], reverse)

    def put(self, key: bytes, value: bytes, *, sync: bool = True) -> None:
        """Store one key."""
        self._commit({as_key(key): as_value(value)})

    def delete(self, key: bytes, *, sync: bool = True) -> None:
        """Remove one key."""
        self._commit({as_key(key): _DELETED})

    def write_batch(self, *, sync: bool = True) -> MemoryWriteBatch:
        """A new atomic batch."""
        self._check_open()
        return MemoryWriteBatch(self, sync)

    def snapshot(self) -> MemorySnapshot:
        """An O(1) copy-on-write snapshot."""
        with self._lock:
            self._check_open()
            return MemorySnapshot(self, self._view())

    def close(self) -> None:
        """Close the store; its snapshots and iterators stop working."""
        with self._lock:
            self._closed = True

    def _commit(self, ops: dict[bytes, bytes | None]) -> None:
        """Apply buffered operations (value None = delete) atomically."""
        with self._lock:
            self._check_open()
            if not ops:
                return
            state = self._writable()
            data, keys = state.data, state.keys
            resort = len(ops) > _RESORT_THRESHOLD
            for key, value in ops.items():
                if value is _DELETED:
                    if data.pop(key, None) is not None and not resort:
                        del keys[bisect.bisect_left(keys, key)]
                else:
                    if key not in data and not resort:
                        bisect.insort(keys, key)
                    data[key] = value
            if resort:
                keys[:] = sorted(data)


class MemoryWriteBatch(BaseWriteBatch):
    """A batch buffered as a dict of key -> value (None = delete); last operation per key wins."""

    _store: MemoryKV

    def __init__(self, store: MemoryKV, sync: bool) -> None:
        super().__init__(store, sync)
        self._ops: dict[bytes, bytes | None] = {}

    def _put(self, key: bytes, value: bytes) -> None:
        self._ops[key] = value

    def _delete(self, key: bytes) -> None:
        self._ops[key] = _DELETED

    def _commit(self) -> None:
        ops, self._ops = self._ops, {}
        self._store._commit(ops)

    def _discard(self) -> None:
        self._ops = {}


class MemorySnapshot(SnapshotAPI):
    """A frozen generation of a MemoryKV's state."""

    def __init__(self, store: MemoryKV, state: _State) -> None:
        self._store = store
        self._state: _State | None = state

    def __repr__(self) -> str:
        return f"MemorySnapshot(of {self._store!r})"

    @property
    def store(self) -> KVStoreAPI:
        """The store the snapshot was taken of."""
        return self._store

    @property
    def closed(self) -> bool:
        """True once this snapshot or its store is closed."""
        return self._state is None or self._store.closed

    def _live(self) -> _State:
        state = self._state
        if state is None or self._store.closed:
            raise StorageClosedError(f"{self!r} is closed")
        return state

    def get(self, key: bytes) -> bytes | None:
        """The value of key at snapshot time."""
        key = as_key(key)
        return self._live().data.get(key)

    def has(self, key: bytes) -> bool:
        """True iff key was present at snapshot time."""
        return self.get(key) is not None

    def multi_get(self, keys: Iterable[bytes]) -> list[bytes | None]:
        """Values of several keys at snapshot time."""
        checked = [as_key(key) for key in keys]
        data = self._live().data
        return [data.get(key) for key in checked]

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
        state = self._live()
        if bounds is None:
            return iter(())
        return _scan(state, self, bounds[0], bounds[1], reverse)

    def close(self) -> None:
        """Release the snapshot."""
        self._state = None
