"""LevelDBKV: the conformance suite, reopening, the one-process lock, corruption and missing databases."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from tests.chain.storage.conformance import KVStoreConformance, RootStoreConformance, prefixed_view

pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")

from chain.storage import (  # noqa: E402
    KVStoreAPI,
    LevelDBKV,
    LevelDBOptions,
    StorageCorruptError,
    StorageLockedError,
    StorageNotFoundError,
)

REPO = Path(__file__).resolve().parents[3]


class TestLevelDBKV(RootStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[KVStoreAPI]:
        store = LevelDBKV(tmp_path / "db")
        yield store
        store.close()


class TestLevelDBNamespace(KVStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[KVStoreAPI]:
        root = LevelDBKV(tmp_path / "db")
        yield prefixed_view(root)
        root.close()


def _python(code: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,  # type: ignore[arg-type]
    )


def test_reopen_sees_committed_data(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBKV(path) as store:
        store.put(b"single", b"1")
        store.apply({b"a": b"1", b"b": b"2"}, [b"single"])
        with store.write_batch(sync=False) as batch:
            batch.put(b"c", b"3")
    with LevelDBKV(path, create_if_missing=False) as store:
        assert list(store.iterate()) == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]


def test_second_handle_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    first = LevelDBKV(path)
    with pytest.raises(StorageLockedError, match="already open in this process") as info:
        LevelDBKV(path)
    assert info.value.code == "storage_locked"
    assert info.value.path == str(path)
    first.close()
    LevelDBKV(path).close()  # the lock is released on close


def test_database_held_by_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    holder = _python(
        "import sys\nfrom chain.storage import LevelDBKV\n"
        f"db = LevelDBKV({str(path)!r})\nprint('ready', flush=True)\nsys.stdin.read()\ndb.close()\n"
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StorageLockedError) as info:
            LevelDBKV(path)
        message = str(info.value)
        assert str(path) in message
        assert "in use by another process" in message
        assert "only the node process opens it" in message
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0
    LevelDBKV(path).close()  # free again once the holder is gone


def test_another_process_cannot_open_what_this_one_holds(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBKV(path):
        child = _python(
            "from chain.storage import LevelDBKV, StorageLockedError\n"
            f"try:\n    LevelDBKV({str(path)!r})\nexcept StorageLockedError as exc:\n    print(exc.code)\n"
        )
        out, err = child.communicate(timeout=30)
    assert out.strip() == "storage_locked", err


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(StorageNotFoundError) as info:
        LevelDBKV(path, create_if_missing=False)
    assert info.value.code == "storage_not_found" and str(path) in str(info.value)
    assert not path.exists()


def test_corrupt_database_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBKV(path) as store:
        store.apply({b"k%d" % i: b"v" for i in range(100)})
    for manifest in path.glob("MANIFEST-*"):
        manifest.write_bytes(b"\x00garbage" * 64)
    with pytest.raises(StorageCorruptError) as info:
        LevelDBKV(path)
    assert info.value.code == "storage_corrupt"
    assert info.value.path == str(path) and str(path) in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        LevelDBOptions(),
        LevelDBOptions(compression=None, bloom_filter_bits=0, cache_size=1 << 20),
        LevelDBOptions(write_buffer_size=1 << 20, block_size=16 * 1024, paranoid_checks=True),
    ],
)
def test_options_open_the_same_data(tmp_path: Path, options: LevelDBOptions) -> None:
    path = tmp_path / "db"
    with LevelDBKV(path, options=options) as store:
        store.apply({b"k%05d" % i: b"value %d" % i for i in range(5000)})
    with LevelDBKV(path, options=LevelDBOptions()) as store:
        assert store.get(b"k04999") == b"value 4999"
        assert sum(1 for _ in store.iterate(b"k")) == 5000


def test_repr_and_path(tmp_path: Path) -> None:
    with LevelDBKV(str(tmp_path / "db")) as store:
        assert store.path == str(tmp_path / "db")
        assert "LevelDBKV" in repr(store)
