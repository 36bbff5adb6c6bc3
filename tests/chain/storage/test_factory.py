"""open_store(): configuration strings to engines."""
from __future__ import annotations

from pathlib import Path

import pytest

from chain.storage import MemoryKV, StorageArgumentError, StorageNotFoundError, open_store


def test_memory() -> None:
    with open_store("memory:") as store:
        assert isinstance(store, MemoryKV)
    assert open_store("memory:") is not open_store("memory:")


@pytest.mark.parametrize("form", ["{p}", "leveldb:{p}", "leveldb://{p}", "LevelDB:{p}", "path"])
def test_leveldb_forms(tmp_path: Path, form: str) -> None:
    pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")
    from chain.storage import LevelDBKV

    target = tmp_path / "db" if form == "path" else form.format(p=tmp_path / "db")
    with open_store(target) as store:
        assert isinstance(store, LevelDBKV)
        assert store.path == str(tmp_path / "db")
        store.put(b"k", b"v")
    with open_store(f"leveldb:{tmp_path / 'db'}", create_if_missing=False) as store:
        assert store.get(b"k") == b"v"


def test_leveldb_options_reach_the_engine(tmp_path: Path) -> None:
    pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")
    with pytest.raises(StorageNotFoundError):
        open_store(f"leveldb:{tmp_path / 'absent'}", create_if_missing=False)


@pytest.mark.parametrize("target", ["", "redis://host", "memory:/x", "leveldb:", "leveldb://"])
def test_rejected_targets(target: str) -> None:
    with pytest.raises(StorageArgumentError) as info:
        open_store(target)
    assert info.value.argument == "target"
