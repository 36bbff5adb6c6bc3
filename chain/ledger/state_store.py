"""StateStore: the authenticated state on disk: latest values, full per-key history, and the tree.

Key layout inside the ledger's KV store:
  'L' || state_key                         -> latest value (absent when deleted)
  'V' || len(2) || state_key || height(8)  -> 0x01 || value, or 0x00 for a delete at that height
  'S' || tree record                       -> sparse Merkle tree nodes and per-height roots
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

from chain.ledger.smt import SparseMerkleProof, SparseMerkleTree, TreeUpdate
from chain.ledger.smt.hashing import Hasher

LATEST = b"L"
VERSIONS = b"V"
TREE = b"S"
_LIVE = b"\x01"
_DELETED = b"\x00"


class KVReader(Protocol):
    """The reads the state store needs from a KV engine."""

    def get(self, key: bytes) -> bytes | None: ...

    def iterate(
        self, prefix: bytes = b"", *, start: bytes | None = None, stop: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...


class _TreeReader:
    def __init__(self, kv: KVReader) -> None:
        self.kv = kv

    def get(self, key: bytes) -> bytes | None:
        return self.kv.get(TREE + key)


def _history_prefix(state_key: bytes) -> bytes:
    return VERSIONS + len(state_key).to_bytes(2, "big") + state_key


@dataclass(frozen=True)
class StateProof:
    """A state value (None if absent) at a height, with the tree proof against that height's state root."""

    key: bytes
    height: int
    value: bytes | None
    proof: SparseMerkleProof


class StateStore:
    """Reads and stages writes of the authenticated state of one ledger."""

    def __init__(self, kv: KVReader, hasher: Hasher) -> None:
        self.kv = kv
        self.hasher = hasher
        self.tree = SparseMerkleTree(_TreeReader(kv), hasher)

    def get(self, state_key: bytes) -> bytes | None:
        """The latest committed value."""
        return self.kv.get(LATEST + state_key)

    def scan(self, prefix: bytes, after: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Every latest (state_key, value) whose key starts with prefix (and sorts after `after`), in key order."""
        start = None if after is None else LATEST + after + b"\x00"
        for key, value in self.kv.iterate(LATEST + prefix, start=start):
            yield key[len(LATEST):], value

    def get_at(self, state_key: bytes, height: int) -> bytes | None:
        """The value as of a height (after that block)."""
        prefix = _history_prefix(state_key)
        for _, raw in self.kv.iterate(prefix, start=prefix, stop=prefix + (height + 1).to_bytes(8, "big"), reverse=True):
            return raw[1:] if raw[:1] == _LIVE else None
        return None

    def history(self, state_key: bytes) -> list[tuple[int, bytes | None]]:
        """Every (height, value) the key has had, oldest first; None marks a delete."""
        prefix = _history_prefix(state_key)
        out = []
        for key, raw in self.kv.iterate(prefix):
            out.append((int.from_bytes(key[-8:], "big"), raw[1:] if raw[:1] == _LIVE else None))
        return out

    def items_at(self, height: int) -> Iterator[tuple[bytes, bytes]]:
        """Every (state_key, value) present after `height`, ordered as the history index is: by key length, then bytes."""
        current: bytes | None = None
        found: bytes | None = None
        for key, raw in self.kv.iterate(VERSIONS):
            state_key = key[3:-8]
            if state_key != current:
                if current is not None and found is not None:
                    yield current, found
                current, found = state_key, None
            if int.from_bytes(key[-8:], "big") <= height:
                found = raw[1:] if raw[:1] == _LIVE else None
        if current is not None and found is not None:
            yield current, found

    @staticmethod
    def restored_records(state_key: bytes, value: bytes, height: int) -> dict[bytes, bytes]:
        """The latest-value and history records of a value restored from a state snapshot taken at height."""
        return {LATEST + state_key: value, _history_prefix(state_key) + height.to_bytes(8, "big"): _LIVE + value}

    def root(self, height: int) -> bytes:
        """The state root after a height."""
        return self.tree.root_hash(height)

    def prove(self, state_key: bytes, height: int) -> StateProof:
        """Value and inclusion (or non-inclusion) proof at a height."""
        return StateProof(state_key, height, self.get_at(state_key, height), self.tree.prove(height, self.hasher(state_key)))

    def stage(
        self, base_height: int | None, height: int, writes: dict[bytes, bytes | None], pending: TreeUpdate | None = None
    ) -> tuple[bytes, dict[bytes, bytes | None], TreeUpdate]:
        """New state root, the KV records (None = delete) that commit `writes` at height, and the tree update
        (for `committed`, once those records are written). `pending`: base_height's own update, when its
        records are not written yet."""
        hasher = self.hasher
        changes = {hasher(k): (None if v is None else hasher(v)) for k, v in writes.items()}
        update = self.tree.update(base_height, height, changes, pending)
        records: dict[bytes, bytes | None] = {TREE + k: v for k, v in update.writes.items()}
        suffix = height.to_bytes(8, "big")
        for key in sorted(writes):
            value = writes[key]
            records[_history_prefix(key) + suffix] = _DELETED if value is None else _LIVE + value
            records[LATEST + key] = value
        return update.root_hash, records, update

    def committed(self, update: TreeUpdate) -> None:
        """The records of a staged update are written: the tree caches them, as the next block's update reads them.
        Only a committed update may come here (another one at the same height would poison the cache)."""
        self.tree.remember(update)
