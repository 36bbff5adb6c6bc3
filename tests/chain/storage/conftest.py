"""Fixtures of the storage tests: a root store of every engine (slow soak tests are deselected by default; make test-slow)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from chain.storage import KVStoreAPI, MemoryKV

ENGINES = ["memory", "leveldb"]


def make_store(engine: str, tmp_path: Path) -> KVStoreAPI:
    """A fresh, empty root store of the named engine."""
    if engine == "memory":
        return MemoryKV()
    pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")
    from chain.storage import LevelDBKV

    return LevelDBKV(tmp_path / "db")


@pytest.fixture(params=ENGINES)
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStoreAPI]:
    """An empty root store of every engine."""
    store = make_store(request.param, tmp_path)
    yield store
    store.close()
