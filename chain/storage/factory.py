"""open_store(): a store from a configuration string ("memory:", "leveldb:/path" or a plain path)."""
from __future__ import annotations

import logging
import os
import re
from typing import Any

from chain.storage.errors import StorageArgumentError
from chain.storage.interfaces import KVStoreAPI
from chain.storage.memory import MemoryKV

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def open_store(target: str | os.PathLike[str], **options: Any) -> KVStoreAPI:
    """Open the store a configuration names; options go to the engine (e.g. create_if_missing for LevelDB).

    "memory:" is a fresh MemoryKV; "leveldb:/abs/path", "leveldb:///abs/path",
    "leveldb:rel/path" and any plain path are a LevelDBKV. An unknown scheme is
    an error rather than a directory name.
    """
    if not isinstance(target, str):
        return _leveldb(os.fspath(target), options)
    match = _SCHEME.match(target)
    if match is None:
        if not target:
            raise StorageArgumentError("target", "is empty")
        return _leveldb(target, options)
    scheme, rest = match.group(1).lower(), target[match.end() :]
    if scheme == "memory":
        if rest or options:
            raise StorageArgumentError("target", f"'memory:' takes no path or options, got {target!r}")
        return MemoryKV()
    if scheme == "leveldb":
        if rest.startswith("//"):
            rest = rest[2:]
        if not rest:
            raise StorageArgumentError("target", f"{target!r} names no path")
        return _leveldb(rest, options)
    raise StorageArgumentError("target", f"unknown storage scheme {scheme!r} in {target!r} (use memory: or leveldb:)")


def _leveldb(path: str, options: dict[str, Any]) -> KVStoreAPI:
    from chain.storage.leveldb import LevelDBKV  # plyvel is only needed when LevelDB is used

    return LevelDBKV(path, **options)
