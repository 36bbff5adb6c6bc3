"""MemoryKV: the conformance suite (as a root store and as a namespace view) and its copy-on-write snapshots."""
from __future__ import annotations

import threading
from typing import Iterator

import pytest
from tests.chain.storage.conformance import KVStoreConformance, RootStoreConformance, prefixed_view

from chain.storage import KVStoreAPI, MemoryKV


class TestMemoryKV(RootStoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[KVStoreAPI]:
        store = MemoryKV()
        yield store
        store.close()


class TestMemoryNamespace(KVStoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[KVStoreAPI]:
        root = MemoryKV()
        yield prefixed_view(root)
        root.close()


def test_snapshot_survives_many_writes_after_it() -> None:
    store = MemoryKV()
    store.apply({b"k%03d" % i: b"old" for i in range(200)})
    snap = store.snapshot()
    for i in range(200):
        store.put(b"k%03d" % i, b"new")
    store.apply({}, [b"k%03d" % i for i in range(100)])
    assert all(v == b"old" for _, v in snap.iterate())
    assert len(list(snap.iterate())) == 200
    assert len(list(store.iterate())) == 100
    snap.close()


def test_concurrent_batches_are_atomic() -> None:
    """Readers never see half a batch while writers commit from several threads."""
    store = MemoryKV()
    keys = [b"k%d" % i for i in range(20)]
    store.apply({k: b"0" for k in keys})
    errors: list[str] = []

    def writer(tag: bytes) -> None:
        for _ in range(200):
            store.apply({k: tag for k in keys})

    def reader() -> None:
        for _ in range(400):
            values = {v for _, v in store.iterate()}
            if len(values) != 1:
                errors.append(f"torn read {values}")
            with store.snapshot() as snap:
                if len(set(snap.multi_get(keys))) != 1:
                    errors.append("torn snapshot")

    threads = [threading.Thread(target=writer, args=(t,)) for t in (b"a", b"b", b"c")]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
