"""Storage engines behind one small KV interface: LevelDB (plyvel) by default, in-memory for tests.

Atomic write batches, point-in-time snapshots, ordered prefix iteration and
namespace views; one block of the ledger commits in one batch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain.storage.errors import (
    StorageArgumentError,
    StorageClosedError,
    StorageCorruptError,
    StorageError,
    StorageIOError,
    StorageLockedError,
    StorageNotFoundError,
)
from chain.storage.factory import open_store
from chain.storage.interfaces import KVStoreAPI, ReadableKVAPI, SnapshotAPI, WriteBatchAPI
from chain.storage.keyspace import MAX_KEY_SIZE, MAX_VALUE_SIZE
from chain.storage.memory import MemoryKV
from chain.storage.prefixed import PrefixedKV, check_prefix_free

if TYPE_CHECKING:
    from chain.storage.leveldb import LevelDBKV, LevelDBOptions

__all__ = [
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "KVStoreAPI",
    "LevelDBKV",
    "LevelDBOptions",
    "MemoryKV",
    "PrefixedKV",
    "ReadableKVAPI",
    "SnapshotAPI",
    "StorageArgumentError",
    "StorageClosedError",
    "StorageCorruptError",
    "StorageError",
    "StorageIOError",
    "StorageLockedError",
    "StorageNotFoundError",
    "WriteBatchAPI",
    "check_prefix_free",
    "open_store",
]


def __getattr__(name: str) -> Any:
    """LevelDBKV and LevelDBOptions import plyvel on first use, so the memory engine works without it."""
    if name in ("LevelDBKV", "LevelDBOptions"):
        from chain.storage import leveldb

        return getattr(leveldb, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
