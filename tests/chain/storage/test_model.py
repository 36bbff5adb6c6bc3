"""Property test: random sequences of batches, single writes, aborted batches, snapshots and reopens
leave MemoryKV, LevelDBKV and a plain dict in the same state, seen through every kind of iteration."""
from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

pytest.importorskip("plyvel", reason="plyvel (the LevelDB binding) is not installed")

from chain.storage import KVStoreAPI, LevelDBKV, MemoryKV, SnapshotAPI  # noqa: E402

from tests.chain.storage.conformance import model_range  # noqa: E402

# A small alphabet around the edges of bytewise order, so keys collide, nest and share prefixes.
_bytes = st.lists(st.sampled_from([0x00, 0x01, 0x61, 0x7F, 0x80, 0xFE, 0xFF]), max_size=3).map(bytes)
keys = _bytes.filter(bool)
values = st.binary(max_size=8)
# None = delete.
operations = st.lists(st.tuples(keys, st.none() | values), max_size=12)
bounds = st.none() | _bytes


class Boom(Exception):
    """Aborts a batch."""


class SameStateMachine(RuleBasedStateMachine):
    """Every engine must equal the dict model after every step."""

    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="kvmodel-")
        self.model: dict[bytes, bytes] = {}
        self.memory = MemoryKV()
        self.leveldb = LevelDBKV(self.directory)
        self.open_snapshots = 0

    @property
    def engines(self) -> list[KVStoreAPI]:
        return [self.memory, self.leveldb]

    def teardown(self) -> None:
        self.memory.close()
        self.leveldb.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _apply_model(self, ops: list[tuple[bytes, bytes | None]]) -> None:
        for key, value in ops:
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value

    @rule(ops=operations, sync=st.booleans())
    def batch(self, ops: list[tuple[bytes, bytes | None]], sync: bool) -> None:
        for engine in self.engines:
            with engine.write_batch(sync=sync) as batch:
                for key, value in ops:
                    if value is None:
                        batch.delete(key)
                    else:
                        batch.put(key, value)
        self._apply_model(ops)

    @rule(ops=operations)
    def aborted_batch(self, ops: list[tuple[bytes, bytes | None]]) -> None:
        for engine in self.engines:
            with pytest.raises(Boom):
                with engine.write_batch() as batch:
                    for key, value in ops:
                        if value is None:
                            batch.delete(key)
                        else:
                            batch.put(key, value)
                    raise Boom

    @rule(puts=st.dictionaries(keys, values, max_size=8), deletes=st.lists(keys, max_size=4))
    def apply(self, puts: dict[bytes, bytes], deletes: list[bytes]) -> None:
        for engine in self.engines:
            engine.apply(puts, deletes, sync=False)
        self._apply_model([*puts.items(), *((k, None) for k in deletes)])

    @rule(key=keys, value=st.none() | values)
    def single(self, key: bytes, value: bytes | None) -> None:
        for engine in self.engines:
            if value is None:
                engine.delete(key, sync=False)
            else:
                engine.put(key, value, sync=False)
        self._apply_model([(key, value)])

    @rule()
    def reopen_leveldb(self) -> None:
        self.leveldb.close()
        self.leveldb = LevelDBKV(self.directory, create_if_missing=False)
        self.open_snapshots = 0  # closing the store released them

    @precondition(lambda self: self.open_snapshots < 4)
    @rule(target=snapshots)
    def take_snapshot(self) -> tuple[dict[bytes, bytes], list[SnapshotAPI]]:
        self.open_snapshots += 1
        return dict(self.model), [engine.snapshot() for engine in self.engines]

    @rule(taken=consumes(snapshots), prefix=_bytes, start=bounds, stop=bounds, reverse=st.booleans())
    def check_and_release_snapshot(
        self,
        taken: tuple[dict[bytes, bytes], list[SnapshotAPI]],
        prefix: bytes,
        start: bytes | None,
        stop: bytes | None,
        reverse: bool,
    ) -> None:
        frozen, snaps = taken
        if any(snap.closed for snap in snaps):
            return  # LevelDB was reopened since: its snapshot went with the old handle
        expected = model_range(frozen, prefix, start, stop, reverse)
        for snap in snaps:
            assert list(snap.iterate(prefix, start=start, stop=stop, reverse=reverse)) == expected
            snap.close()
        self.open_snapshots -= 1

    @rule(prefix=_bytes, start=bounds, stop=bounds, reverse=st.booleans())
    def check_range(self, prefix: bytes, start: bytes | None, stop: bytes | None, reverse: bool) -> None:
        expected = model_range(self.model, prefix, start, stop, reverse)
        for engine in self.engines:
            assert list(engine.iterate(prefix, start=start, stop=stop, reverse=reverse)) == expected

    @rule(probe=st.lists(keys, max_size=5))
    def check_reads(self, probe: list[bytes]) -> None:
        expected = [self.model.get(key) for key in probe]
        for engine in self.engines:
            assert engine.multi_get(probe) == expected
            assert [engine.get(key) for key in probe] == expected

    @invariant()
    def same_contents(self) -> None:
        expected = sorted(self.model.items())
        for engine in self.engines:
            assert list(engine.iterate()) == expected


SameStateMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSameState = SameStateMachine.TestCase
