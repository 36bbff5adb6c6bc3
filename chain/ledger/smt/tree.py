"""SparseMerkleTree: batch updates at a new version, reads and proofs at any stored version.

A binary tree over 256-bit key hashes. As in Diem's Jellyfish Merkle tree, a
subtree holding a single leaf is collapsed to that leaf, so depth grows with
log2(number of keys), not 256; and storage is 16-ary: one record holds four
binary levels (with their hashes and the leaves that end inside them, see
nodes.py), so a path of ~21 binary levels is ~6 record reads. Records are
immutable and keyed by (version, path), so every old version stays readable and
provable until pruned. The tree never writes storage itself: `update` returns
the records to write, and the caller commits them in the same atomic batch as
the block that produced them.
"""
from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from chain.ledger.smt.hashing import INTERNAL_TAG, LEAF_TAG, PLACEHOLDER, Hasher
from chain.ledger.smt.nodes import (
    BELOW,
    DESCENDANTS,
    INTERNAL,
    LEAF,
    Child,
    NodeDecodeError,
    Record,
    State,
    decode_record,
    decode_root,
    encode_record,
    encode_root,
    node_key,
    record_states,
    root_key,
)
from chain.ledger.smt.proof import SparseMerkleProof

__all__ = ["PLACEHOLDER", "MissingNodeError", "NodeReader", "SparseMerkleTree", "TreeUpdate"]

_ROOT = -1  # cache key depth of a version's root pointer
_MISSING = object()


class NodeReader(Protocol):
    """Anything with get(key) -> bytes | None: a KV store, a snapshot, or a dict."""

    def get(self, key: bytes) -> bytes | None: ...


class MissingNodeError(Exception):
    """A node or version the tree needs is not in storage."""


@dataclass
class TreeUpdate:
    """The outcome of one update: the new root hash and the records to write atomically."""

    version: int
    root_hash: bytes
    writes: dict[bytes, bytes] = field(default_factory=dict)


class SparseMerkleTree:
    """Versioned sparse Merkle tree over a node store; stateless apart from a record cache.

    The cache holds decoded records and root pointers read from storage, keyed by
    (version, depth, path prefix); both are immutable once written, so caching is
    safe. It is bounded by `cache_size` records (least recently used go first; a
    full record is ~1.1 KB).
    """

    def __init__(self, reader: NodeReader, hasher: Hasher, cache_size: int = 100_000) -> None:
        self.reader = reader
        self.hasher = hasher
        self._cache: OrderedDict[tuple[int, int, int], Record | State | None] = OrderedDict()
        self._cache_size = max(1, cache_size)

    # -- reading -------------------------------------------------------------------

    # The cache is shared by the thread that builds blocks and those that answer queries: each
    # OrderedDict call is atomic, and a key another thread evicts in between is no error.

    def _remember(self, key: tuple[int, int, int], value: Record | State | None) -> None:
        cache = self._cache
        cache[key] = value
        if len(cache) > self._cache_size:
            try:
                cache.popitem(last=False)
            except KeyError:
                pass

    def _touch(self, key: tuple[int, int, int]) -> None:
        try:
            self._cache.move_to_end(key)
        except KeyError:
            pass

    def _record(self, version: int, depth: int, prefix: int, remember: bool = True) -> Record:
        """The record at (version, depth, first `depth` bits of the path), from the cache when possible.

        `remember=False` leaves the cache as it is on a miss: an update rewrites every record it reads at
        the new version, so the old one is of no more use for the latest state.
        """
        key = (version, depth, prefix)
        cache = self._cache
        record = cache.get(key)
        if record is not None:
            self._touch(key)
            return record  # type: ignore[return-value]
        path = prefix << (256 - depth) if depth else 0
        storage_key = node_key(version, depth, path)
        data = self.reader.get(storage_key)
        if data is None:
            raise MissingNodeError(f"tree node {storage_key.hex()} is missing from storage")
        record = decode_record(data)
        if remember:
            self._remember(key, record)
        return record

    def _root(self, version: int) -> State | None:
        key = (version, _ROOT, 0)
        state = self._cache.get(key, _MISSING)
        if state is not _MISSING:
            self._touch(key)
            return state  # type: ignore[return-value]
        data = self.reader.get(root_key(version))
        if data is None:
            raise MissingNodeError(f"no tree root stored for version {version}")
        state = decode_root(data)
        self._remember(key, state)
        return state

    def root(self, version: int) -> Child | None:
        """The root pointer of a version (None for an empty tree)."""
        state = self._root(version)
        if state is None:
            return None
        if state[0] == LEAF:
            return Child(state[1], version, True)  # type: ignore[arg-type]
        return Child(state[1], state[2], False)  # type: ignore[arg-type]

    def has_version(self, version: int) -> bool:
        """True if the version's root is stored."""
        return self.reader.get(root_key(version)) is not None

    def root_hash(self, version: int) -> bytes:
        """The root hash of a version (PLACEHOLDER for an empty tree)."""
        state = self._root(version)
        return PLACEHOLDER if state is None else state[1]  # type: ignore[return-value]

    def _walk(self, version: int, key_hash: bytes, proof: bool) -> tuple[list[bytes], bytes | None]:
        """Follow key_hash's path: the binary siblings (if `proof`) and the leaf (key_hash || value_hash) ending it."""
        siblings: list[bytes] = []
        state = self._root(version)
        if state is None:
            return siblings, None
        if state[0] == LEAF:
            return siblings, state[2]  # type: ignore[return-value]
        k = int.from_bytes(key_hash, "big")
        hasher = self.hasher
        append = siblings.append
        ref = state[2]
        depth = 0
        while True:
            if depth >= 256:
                raise NodeDecodeError("tree record below the deepest level")
            internal, leaves, data, vbase, lbase = self._record(ref, depth, k >> (256 - depth))  # type: ignore[arg-type]
            p = 1
            for _ in range(4):
                q = (p << 1) | ((k >> (255 - depth)) & 1)
                depth += 1
                if proof:
                    s = q ^ 1
                    if internal >> s & 1:
                        off = 9 + 32 * (internal & BELOW[s]).bit_count()
                        append(data[off : off + 32])
                    elif leaves >> s & 1:
                        off = lbase + 64 * (leaves & BELOW[s]).bit_count()
                        append(hasher(LEAF_TAG + data[off : off + 64]))
                    else:
                        append(PLACEHOLDER)
                if leaves >> q & 1:
                    off = lbase + 64 * (leaves & BELOW[q]).bit_count()
                    return siblings, data[off : off + 64]
                if not internal >> q & 1:
                    return siblings, None
                p = q
            off = vbase + 8 * (internal >> 16 & ((1 << (p - 16)) - 1)).bit_count()
            ref = int.from_bytes(data[off : off + 8], "big")

    def get(self, version: int, key_hash: bytes) -> bytes | None:
        """The value hash stored for key_hash at version, or None."""
        _, leaf = self._walk(version, key_hash, False)
        return leaf[32:] if leaf is not None and leaf[:32] == key_hash else None

    def prove(self, version: int, key_hash: bytes) -> SparseMerkleProof:
        """An inclusion proof if the key is present at version, else a non-inclusion proof."""
        siblings, leaf = self._walk(version, key_hash, True)
        return SparseMerkleProof(tuple(siblings), None if leaf is None else (leaf[:32], leaf[32:]))

    # -- writing -------------------------------------------------------------------

    def update(
        self, base_version: int | None, new_version: int, changes: Mapping[bytes, bytes | None]
    ) -> TreeUpdate:
        """Apply key_hash -> value_hash (None deletes) on top of base_version, producing new_version."""
        if base_version is not None and new_version <= base_version:
            raise ValueError("new_version must be greater than base_version")
        entries = sorted((int.from_bytes(k, "big"), v) for k, v in changes.items())
        result = TreeUpdate(new_version, PLACEHOLDER)
        base = self._root(base_version) if base_version is not None else None
        new_root = _Update(self, new_version, result.writes).record(0, 0, base, entries) if entries else base
        if new_root is not None and new_root[0] == LEAF and new_root[1] is None:
            new_root = (LEAF, self.hasher(LEAF_TAG + new_root[2]), new_root[2])  # type: ignore[operator]
        result.writes[root_key(new_version)] = encode_root(new_root)
        result.root_hash = PLACEHOLDER if new_root is None else new_root[1]  # type: ignore[assignment]
        return result


class _Update:
    """One batch update: rewrites the records on the changed paths, collecting them in `writes`.

    Works on the binary positions of one record at a time (see nodes.py); a
    position's state is None (empty), a leaf or an internal node. Leaves live
    inline in records, so collapsing a subtree to its last leaf (or pushing a
    leaf down when a key joins it) moves bytes between positions and needs no
    extra reads.
    """

    def __init__(self, tree: SparseMerkleTree, version: int, writes: dict[bytes, bytes]) -> None:
        self.tree = tree
        self.hasher = tree.hasher
        self.version = version
        self.writes = writes

    def record(self, depth: int, path: int, old: State | None, entries: list[tuple[int, bytes | None]]) -> State | None:
        """New state of the subtree at (depth % 4 == 0, path), given its old state and the sorted changes in it."""
        if old is not None and old[0] == INTERNAL:
            if depth >= 256:
                raise NodeDecodeError("tree record below the deepest level")
            record = self.tree._record(old[2], depth, path >> (256 - depth), False)  # type: ignore[arg-type]
            if len(entries) == 1 and entries[0][1] is not None:
                patched = self.patch(record, depth, path, entries[0])
                if patched is not None:
                    return patched
            states = record_states(record)
        else:
            states = [None] * 32
            states[1] = old
        new = self.position(states, 1, depth, path, entries)
        if new is not None and new[0] == INTERNAL:
            states[1] = new
            self.writes[node_key(self.version, depth, path)] = encode_record(states)
            return (INTERNAL, new[1], self.version)
        return new

    def patch(self, record: Record, depth: int, path: int, entry: tuple[int, bytes | None]) -> State | None:
        """Fast path for one key set below a record without changing its shape: the key's leaf is in this
        record (new value) or below one of its child records (set there). Only the bytes on the key's path
        change: rewrite them in a copy of the record. None if the shape changes (the key is new here)."""
        internal, leaves, data, vbase, lbase = record
        k, value = entry
        hasher = self.hasher
        siblings: list[bytes] = []
        offsets: list[int] = []  # hash offsets of the internal positions on the path, below position 1
        p = 1
        for r in range(4):
            bit = (k >> (255 - depth - r)) & 1
            q = (p << 1) | bit
            s = q ^ 1
            if internal >> s & 1:
                off = 9 + 32 * (internal & BELOW[s]).bit_count()
                siblings.append(data[off : off + 32])
            elif leaves >> s & 1:
                off = lbase + 64 * (leaves & BELOW[s]).bit_count()
                siblings.append(hasher(LEAF_TAG + data[off : off + 64]))
            else:
                siblings.append(PLACEHOLDER)
            if leaves >> q & 1:
                off = lbase + 64 * (leaves & BELOW[q]).bit_count()
                blob = k.to_bytes(32, "big") + value  # type: ignore[operator]
                if data[off : off + 32] != blob[:32]:
                    return None  # another key's leaf: the new key splits it
                buf = bytearray(data)
                buf[off + 32 : off + 64] = value  # type: ignore[index,assignment]
                h = hasher(LEAF_TAG + blob)
                break
            if not internal >> q & 1:
                return None  # empty position: the new key lands here
            offsets.append(9 + 32 * (internal & BELOW[q]).bit_count())
            p = q
        else:
            # p is an internal slot: a child record four levels down takes the change.
            off = offsets[-1]
            voff = vbase + 8 * (internal >> 16 & ((1 << (p - 16)) - 1)).bit_count()
            child_depth = depth + 4
            child_path = (k >> (256 - child_depth)) << (256 - child_depth)
            child = self.record(child_depth, child_path, (INTERNAL, data[off : off + 32], int.from_bytes(data[voff : voff + 8], "big")), [entry])
            if child is None or child[0] != INTERNAL:  # a set below an internal node keeps it internal
                raise NodeDecodeError("a child record collapsed under a set")
            h = child[1]  # type: ignore[assignment]
            buf = bytearray(data)
            buf[off : off + 32] = h  # type: ignore[index]
            buf[voff : voff + 8] = self.version.to_bytes(8, "big")
            offsets.pop()
            r = 3
        # Rehash upwards from the end of the path, rewriting the stored hashes of the path's positions.
        while True:
            sibling = siblings[r]
            if (k >> (255 - depth - r)) & 1:
                h = hasher(INTERNAL_TAG + sibling + h)  # type: ignore[operator]
            else:
                h = hasher(INTERNAL_TAG + h + sibling)  # type: ignore[operator]
            if r == 0:
                break
            r -= 1
            off = offsets.pop()
            buf[off : off + 32] = h  # type: ignore[index]
        self.writes[node_key(self.version, depth, path)] = bytes(buf)
        return (INTERNAL, h, self.version)

    def position(
        self, states: list[State | None], p: int, depth: int, path: int, entries: list[tuple[int, bytes | None]]
    ) -> State | None:
        """New state of position p (at `depth`) of a record, given the (non-empty) sorted changes below it."""
        if p >= 16:
            return self.record(depth, path, states[p], entries)
        s = states[p]
        if s is None or s[0] == LEAF:
            # The subtree holds at most one leaf: rebuild it from the live entries.
            if s is not None:
                blob: bytes = s[2]  # type: ignore[assignment]
                existing = int.from_bytes(blob[:32], "big")
                i = bisect.bisect_left(entries, (existing,))
                if i == len(entries) or entries[i][0] != existing:
                    entries = entries[:i] + [(existing, blob[32:])] + entries[i:]
            entries = [e for e in entries if e[1] is not None]
            if len(entries) <= 1:
                if not entries:
                    return None
                k, v = entries[0]
                return (LEAF, None, k.to_bytes(32, "big") + v)  # type: ignore[operator]
            if depth >= 256:
                raise NodeDecodeError("two leaves share a 256-bit path")
        m = 1 << (255 - depth)
        split = bisect.bisect_left(entries, (path | m,))
        left = self.position(states, p << 1, depth + 1, path, entries[:split]) if split else states[p << 1]
        right = (
            self.position(states, (p << 1) | 1, depth + 1, path | m, entries[split:])
            if split < len(entries)
            else states[(p << 1) | 1]
        )
        # Join the two halves: an empty side lets a lone leaf move up.
        if left is None:
            if right is None or right[0] == LEAF:
                return right
        elif right is None and left[0] == LEAF:
            return left
        hasher = self.hasher
        q = p << 1
        for child in (left, right):
            old = states[q]
            if child is not None and child[0] == LEAF and child[1] is None:
                child = (LEAF, hasher(LEAF_TAG + child[2]), child[2])  # type: ignore[operator]
            if old is not None and old[0] == INTERNAL and q < 16 and (child is None or child[0] != INTERNAL):
                for d in DESCENDANTS[q]:
                    states[d] = None
            states[q] = child
            q += 1
        lh = states[p << 1]
        rh = states[(p << 1) | 1]
        left_hash: bytes = PLACEHOLDER if lh is None else lh[1]  # type: ignore[assignment]
        right_hash: bytes = PLACEHOLDER if rh is None else rh[1]  # type: ignore[assignment]
        h = hasher(INTERNAL_TAG + left_hash + right_hash)
        return (INTERNAL, h, None)
