"""SparseMerkleTree: batch updates at a new version, reads and proofs at any stored version.

A binary tree over 256-bit key hashes. As in Diem's Jellyfish Merkle tree, a
subtree holding a single leaf is collapsed to that leaf, so depth grows with
log2(number of keys), not 256; and storage is 16-ary: one record holds four
binary levels (with their hashes and the leaves that end inside them, see
nodes.py), so a path of ~21 binary levels is ~6 record reads. Records are
immutable and keyed by (version, path), so every old version stays readable and
provable until pruned. The tree never writes storage itself: `update` returns
the records to write, and the caller commits them in the same atomic batch as
the block that produced them (then hands the update to `remember`, so that the
next update finds them in the cache).
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
    HEADER,
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
    record_header,
    record_layout,
    record_states,
    root_key,
)
from chain.ledger.smt.proof import SparseMerkleProof

__all__ = ["PLACEHOLDER", "MissingNodeError", "NodeReader", "SparseMerkleTree", "TreeUpdate"]

_ROOT = -1  # cache key depth of a version's root pointer
# Up to this many sets below a record go one by one through the single-key fast path: cheaper than
# decoding the record into positions and encoding it again, until the repeated rehashing costs more.
_FEW_SETS = 3
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
    # The decoded records written, by cache key: the cache takes them once they are committed (see `remember`).
    nodes: dict[tuple[int, int, int], Record] = field(default_factory=dict, compare=False, repr=False)
    # Cache keys of the records of an uncommitted base update that this one rewrote (see `update`'s `pending`):
    # `remember` drops them, as the cache would have if they had been read from it.
    superseded: list[tuple[int, int, int]] = field(default_factory=list, compare=False, repr=False)


class SparseMerkleTree:
    """Versioned sparse Merkle tree over a node store; stateless apart from a record cache.

    The cache holds decoded records and root pointers read from storage or committed
    by this process (see `remember`), keyed by (version, depth, path prefix); both
    are immutable once written, so caching is safe. It is bounded by `cache_size`
    records (least recently used go first; a full record is ~1.1 KB).
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

        `remember=False` is for an update, which rewrites every record it reads at the new version: the
        old one leaves the cache (or is not added to it), and `remember` adds the new one once committed.
        """
        key = (version, depth, prefix)
        cache = self._cache
        if remember:
            record = cache.get(key)
            if record is not None:
                self._touch(key)
                return record  # type: ignore[return-value]
        else:
            record = cache.pop(key, None)
            if record is not None:
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

    def remember(self, update: TreeUpdate) -> None:
        """Cache the records an update wrote, once the caller has committed them: the next update reads them."""
        cache = self._cache
        for key in update.superseded:
            cache.pop(key, None)
        cache.update(update.nodes)
        self._remember((update.version, _ROOT, 0), decode_root(update.writes[root_key(update.version)]))
        try:
            while len(cache) > self._cache_size:
                cache.popitem(last=False)
        except KeyError:  # another thread emptied it
            pass

    def update(
        self, base_version: int | None, new_version: int, changes: Mapping[bytes, bytes | None],
        pending: TreeUpdate | None = None,
    ) -> TreeUpdate:
        """Apply key_hash -> value_hash (None deletes) on top of base_version, producing new_version.

        `pending` is the update that produced base_version when its records are not committed yet (a
        block executed on top of one still being certified): its records are read from it, not storage.
        """
        if base_version is not None and new_version <= base_version:
            raise ValueError("new_version must be greater than base_version")
        if pending is not None and pending.version != base_version:
            raise ValueError(f"the pending update is version {pending.version}, not the base version {base_version}")
        entries = sorted((int.from_bytes(k, "big"), v) for k, v in changes.items())
        result = TreeUpdate(new_version, PLACEHOLDER)
        if pending is not None:
            base = decode_root(pending.writes[root_key(pending.version)])
        else:
            base = self._root(base_version) if base_version is not None else None
        new_root = _Update(self, new_version, result, pending).record(0, 0, base, entries) if entries else base
        if new_root is not None and new_root[0] == LEAF and new_root[1] is None:
            new_root = (LEAF, self.hasher(LEAF_TAG + new_root[2]), new_root[2])  # type: ignore[operator]
        result.writes[root_key(new_version)] = encode_root(new_root)
        result.root_hash = PLACEHOLDER if new_root is None else new_root[1]  # type: ignore[assignment]
        return result


def _position(k: int, depth: int, level: int) -> int:
    """The position at `level` of a record at `depth` on the path of key k."""
    return (1 << level) | (k >> (256 - depth - level)) & ((1 << level) - 1)


@dataclass(slots=True)
class _Fork:
    """Two leaves forked below a position: its new hash and what the record gains (see _Update.fork)."""

    top: bytes
    hashes: list[tuple[int, bytes]]  # (position, hash) of the new internal positions, in position order
    slot: int  # the new internal slot leading to a new child record, or 0
    leaf_bits: int  # the bits of the two new leaf positions, or 0
    blobs: bytes  # the two leaves, in position order


class _Update:
    """One batch update: rewrites the records on the changed paths, collecting them in `writes`.

    Works on the binary positions of one record at a time (see nodes.py); a
    position's state is None (empty), a leaf or an internal node. Leaves live
    inline in records, so collapsing a subtree to its last leaf (or pushing a
    leaf down when a key joins it) moves bytes between positions and needs no
    extra reads. Below the top records most records see one or two sets: those go
    through `set_one`, which edits the record's bytes in place of decoding it.
    """

    def __init__(self, tree: SparseMerkleTree, version: int, result: TreeUpdate, pending: TreeUpdate | None) -> None:
        self.tree = tree
        self.hasher = tree.hasher
        self.version = version
        self.version_bytes = version.to_bytes(8, "big")
        self.heads: dict[int, bytes] = {}
        self.writes = result.writes
        self.nodes = result.nodes
        self.superseded = result.superseded
        self.pending_version = -1 if pending is None else pending.version
        self.pending_nodes = {} if pending is None else pending.nodes

    def record(self, depth: int, path: int, old: State | None, entries: list[tuple[int, bytes | None]]) -> State | None:
        """New state of the subtree at (depth % 4 == 0, path), given its old state and the sorted changes in it."""
        if old is not None and old[0] == INTERNAL:
            if depth >= 256:
                raise NodeDecodeError("tree record below the deepest level")
            record = self.read(old[2], depth, path)  # type: ignore[arg-type]
            if len(entries) <= _FEW_SETS and None not in [e[1] for e in entries]:
                return self.few_sets(record, depth, path, entries)
            states = record_states(record)
        else:
            states = [None] * 32
            states[1] = old
        new = self.position(states, 1, depth, path, entries)
        if new is not None and new[0] == INTERNAL:
            states[1] = new
            self.write(depth, path, record_layout(encode_record(states)))
            return (INTERNAL, new[1], self.version)
        return new

    def read(self, version: int, depth: int, path: int) -> Record:
        """The record at (version, depth, path): one this update wrote already (see few_sets), or a stored one."""
        if version == self.version:
            return self.nodes[(version, depth, path >> (256 - depth))]
        if version == self.pending_version:
            key = (version, depth, path >> (256 - depth))
            self.superseded.append(key)
            return self.pending_nodes[key]
        return self.tree._record(version, depth, path >> (256 - depth), False)

    def few_sets(self, record: Record, depth: int, path: int, entries: list[tuple[int, bytes | None]]) -> State:
        """A few key sets below a record, one after the other through the single-key fast path."""
        state = self.set_one(record, depth, path, entries[0])
        for entry in entries[1:]:
            state = self.set_one(self.read(self.version, depth, path), depth, path, entry)
        return state

    def write(self, depth: int, path: int, record: Record) -> None:
        """Collect a new record, and its decoded form for the cache once it is committed."""
        prefix = path >> (256 - depth)
        nbytes = (depth + 7) >> 3
        head = self.heads.get(depth)
        if head is None:
            head = self.heads[depth] = node_key(self.version, depth, 0)[:10]  # the key up to the path bytes
        self.writes[head + (prefix << ((nbytes << 3) - depth)).to_bytes(nbytes, "big")] = record[2]
        self.nodes[(self.version, depth, prefix)] = record

    def set_one(self, record: Record, depth: int, path: int, entry: tuple[int, bytes | None]) -> State:
        """Fast path for one key set below a record: rewrite, in a copy of the record, only the bytes on the
        key's path, plus the positions a new key adds (a leaf in an empty position, or a fork where it meets
        another key's leaf)."""
        internal, leaves, data, vbase, lbase = record
        k, value = entry
        hasher = self.hasher
        bits = (k >> (252 - depth)) & 15  # the key's path through the record's four levels
        for r in range(4):
            q = (16 | bits) >> (3 - r)  # the path's position at level r + 1
            if leaves >> q & 1:
                off = lbase + 64 * (leaves & BELOW[q]).bit_count()
                blob = k.to_bytes(32, "big") + value  # type: ignore[operator]
                if data[off : off + 32] == blob[:32]:
                    buf = bytearray(data)
                    buf[off + 32 : off + 64] = value  # type: ignore[index,assignment]
                    h = hasher(LEAF_TAG + blob)
                    layout = record
                else:
                    buf, h, layout = self.split(record, depth, q, r + 1, off, blob)
                break
            if not internal >> q & 1:
                buf, h, layout = self.add_leaf(record, q, k.to_bytes(32, "big") + value)  # type: ignore[operator]
                break
        else:
            # q is an internal slot: the child record four levels down takes the set (and stays internal).
            off = HEADER + 32 * (internal & BELOW[q]).bit_count()
            voff = vbase + 8 * (internal >> 16 & ((1 << (q - 16)) - 1)).bit_count()
            child_depth = depth + 4
            child_path = (k >> (256 - child_depth)) << (256 - child_depth)
            child = self.read(int.from_bytes(data[voff : voff + 8], "big"), child_depth, child_path)
            h = self.set_one(child, child_depth, child_path, entry)[1]  # type: ignore[assignment]
            buf = bytearray(data)
            buf[off : off + 32] = h  # type: ignore[index]
            buf[voff : voff + 8] = self.version_bytes
            layout = record
        # Rehash up the path from q, with the siblings read from the old record, and rewrite the stored
        # hashes of the path's positions (those a new key adds lie below q, so these offsets did not move).
        while True:
            s = q ^ 1
            if internal >> s & 1:
                off = HEADER + 32 * (internal & BELOW[s]).bit_count()
                sibling = data[off : off + 32]
            elif leaves >> s & 1:
                off = lbase + 64 * (leaves & BELOW[s]).bit_count()
                sibling = hasher(LEAF_TAG + data[off : off + 64])
            else:
                sibling = PLACEHOLDER
            h = hasher(INTERNAL_TAG + sibling + h if q & 1 else INTERNAL_TAG + h + sibling)  # type: ignore[operator]
            q >>= 1
            if q == 1:
                break
            off = HEADER + 32 * (internal & BELOW[q]).bit_count()
            buf[off : off + 32] = h  # type: ignore[index]
        # `layout`: the record's bitmaps and bases after the change (split and add_leaf change them).
        self.write(depth, path, (layout[0], layout[1], bytes(buf), layout[3], layout[4]))
        return (INTERNAL, h, self.version)

    def add_leaf(self, record: Record, q: int, blob: bytes) -> tuple[bytearray, bytes, Record]:
        """The bytes of the record with a leaf added at the empty position q, the leaf's hash, the new layout."""
        internal, leaves, data, vbase, lbase = record
        off = lbase + 64 * (leaves & BELOW[q]).bit_count()
        buf = bytearray(data)
        buf[off:off] = blob
        buf[5:9] = (leaves | 1 << q).to_bytes(4, "big")
        return buf, self.hasher(LEAF_TAG + blob), (internal, leaves | 1 << q, data, vbase, lbase)

    def split(self, record: Record, depth: int, q: int, level: int, off: int, blob: bytes) -> tuple[bytearray, bytes, Record]:
        """The bytes of the record with the leaf at q (at `off`, another key's) and the new leaf `blob`
        forked below q, q's new hash, and the new layout."""
        internal, leaves, data, vbase, lbase = record
        fork = self.fork(depth, level, blob, data[off : off + 64])
        added = 0
        for pos, _ in fork.hashes:
            added |= 1 << pos
        internal_after, leaves_after = internal | added, leaves & ~(1 << q) | fork.leaf_bits
        parts = [record_header(internal_after, leaves_after)]
        at = HEADER
        for pos, h in fork.hashes:
            o = HEADER + 32 * (internal & BELOW[pos]).bit_count()
            parts += (data[at:o], h)
            at = o
        if fork.slot:
            o = vbase + 8 * (internal >> 16 & ((1 << (fork.slot - 16)) - 1)).bit_count()
            parts += (data[at:o], self.version_bytes)
            at = o
        parts.append(data[at:off])
        if fork.leaf_bits:
            o = lbase + 64 * (leaves & BELOW[fork.leaf_bits.bit_length() - 2]).bit_count()
            parts += (data[off + 64 : o], fork.blobs, data[o:])
        else:
            parts.append(data[off + 64 :])
        vbase_after = vbase + 32 * len(fork.hashes)
        lbase_after = lbase + 32 * len(fork.hashes) + (8 if fork.slot else 0)
        return bytearray(b"".join(parts)), fork.top, (internal_after, leaves_after, data, vbase_after, lbase_after)

    def pair(self, depth: int, path: int, blob: bytes, other: bytes) -> bytes:
        """Write a new record at (depth, path) holding just two leaves; its hash."""
        fork = self.fork(depth, 0, blob, other)
        internal = 2
        for pos, _ in fork.hashes:
            internal |= 1 << pos
        parts = [record_header(internal, fork.leaf_bits), *(h for _, h in fork.hashes)]
        if fork.slot:
            parts.append(self.version_bytes)
        parts.append(fork.blobs)
        self.write(depth, path, record_layout(b"".join(parts)))
        return fork.top

    def fork(self, depth: int, level: int, blob: bytes, other: bytes) -> _Fork:
        """The positions of a record at `depth` that hold two leaves below their common position at `level`.

        The path of the two keys runs through internal positions down to the node where they part, whose
        children are the two leaves; if that node is four or more levels below the record, the path leaves
        the record through an internal slot to a new child record (see `pair`).
        """
        hasher = self.hasher
        k = int.from_bytes(blob[:32], "big")
        parting = 256 - (k ^ int.from_bytes(other[:32], "big")).bit_length()  # depth of the node where they part
        bottom = parting - depth
        if bottom < 4:
            left, right = (other, blob) if (k >> (255 - parting)) & 1 else (blob, other)
            h = hasher(INTERNAL_TAG + hasher(LEAF_TAG + left) + hasher(LEAF_TAG + right))
            fork = _Fork(h, [], 0, 3 << (_position(k, depth, bottom + 1) & ~1), left + right)
        else:
            bottom = 4
            child_depth = depth + 4
            h = self.pair(child_depth, (k >> (256 - child_depth)) << (256 - child_depth), blob, other)
            fork = _Fork(h, [], _position(k, depth, 4), 0, b"")
        hashes = fork.hashes
        for lv in range(bottom, level - 1, -1):
            if lv < bottom:
                if (k >> (255 - depth - lv)) & 1:
                    h = hasher(INTERNAL_TAG + PLACEHOLDER + h)
                else:
                    h = hasher(INTERNAL_TAG + h + PLACEHOLDER)
            if lv:
                hashes.append((_position(k, depth, lv), h))
        hashes.reverse()
        fork.top = h
        return fork

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
