"""SparseMerkleTree: batch updates at a new version, reads and proofs at any stored version.

A binary tree over 256-bit key hashes. As in Diem's Jellyfish Merkle tree, a
subtree holding a single leaf is stored as that leaf, so depth grows with
log2(number of keys), not 256; nodes are immutable and keyed by (version,
path), so every old version stays readable and provable until pruned. The tree
never writes storage itself: `update` returns the records to write, and the
caller commits them in the same atomic batch as the block that produced them.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from chain.ledger.smt.hashing import PLACEHOLDER, Hasher, internal_hash, leaf_hash
from chain.ledger.smt.nodes import (
    Child,
    Internal,
    Leaf,
    NodeDecodeError,
    decode_child,
    decode_node,
    encode_child,
    encode_internal,
    encode_leaf,
    node_key,
    root_key,
)
from chain.ledger.smt.proof import SparseMerkleProof

__all__ = ["PLACEHOLDER", "MissingNodeError", "NodeReader", "SparseMerkleTree", "TreeUpdate"]

_TOP = 255


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


def _mask(depth: int) -> int:
    return 1 << (_TOP - depth)


class SparseMerkleTree:
    """Versioned sparse Merkle tree over a node store; stateless apart from a node cache."""

    def __init__(self, reader: NodeReader, hasher: Hasher, cache_size: int = 200_000) -> None:
        self.reader = reader
        self.hasher = hasher
        self._cache: dict[bytes, Leaf | Internal] = {}
        self._cache_size = cache_size

    # -- reading -------------------------------------------------------------------

    def _load(self, key: bytes) -> Leaf | Internal:
        node = self._cache.get(key)
        if node is not None:
            return node
        data = self.reader.get(key)
        if data is None:
            raise MissingNodeError(f"tree node {key.hex()} is missing from storage")
        node = decode_node(data)
        if len(self._cache) >= self._cache_size:
            for old in list(self._cache)[: self._cache_size // 4]:
                del self._cache[old]
        self._cache[key] = node
        return node

    def root(self, version: int) -> Child | None:
        """The root pointer of a version (None for an empty tree)."""
        data = self.reader.get(root_key(version))
        if data is None:
            raise MissingNodeError(f"no tree root stored for version {version}")
        child, end = decode_child(data)
        if end != len(data):
            raise NodeDecodeError("trailing bytes after root pointer")
        return child

    def has_version(self, version: int) -> bool:
        """True if the version's root is stored."""
        return self.reader.get(root_key(version)) is not None

    def root_hash(self, version: int) -> bytes:
        """The root hash of a version (PLACEHOLDER for an empty tree)."""
        root = self.root(version)
        return PLACEHOLDER if root is None else root.hash

    def _walk(self, version: int, key_hash: bytes) -> tuple[list[bytes], Leaf | None]:
        k = int.from_bytes(key_hash, "big")
        ref = self.root(version)
        siblings: list[bytes] = []
        depth = 0
        path = 0
        while ref is not None:
            node = self._load(node_key(ref.version, depth, path))
            if isinstance(node, Leaf):
                return siblings, node
            m = _mask(depth)
            if k & m:
                siblings.append(node.left.hash if node.left is not None else PLACEHOLDER)
                ref = node.right
                path |= m
            else:
                siblings.append(node.right.hash if node.right is not None else PLACEHOLDER)
                ref = node.left
            depth += 1
        return siblings, None

    def get(self, version: int, key_hash: bytes) -> bytes | None:
        """The value hash stored for key_hash at version, or None."""
        _, leaf = self._walk(version, key_hash)
        return leaf.value_hash if leaf is not None and leaf.key_hash == key_hash else None

    def prove(self, version: int, key_hash: bytes) -> SparseMerkleProof:
        """An inclusion proof if the key is present at version, else a non-inclusion proof."""
        siblings, leaf = self._walk(version, key_hash)
        return SparseMerkleProof(tuple(siblings), None if leaf is None else (leaf.key_hash, leaf.value_hash))

    # -- writing -------------------------------------------------------------------

    def update(
        self, base_version: int | None, new_version: int, changes: Mapping[bytes, bytes | None]
    ) -> TreeUpdate:
        """Apply key_hash -> value_hash (None deletes) on top of base_version, producing new_version."""
        if base_version is not None and new_version <= base_version:
            raise ValueError("new_version must be greater than base_version")
        entries = sorted((int.from_bytes(k, "big"), v) for k, v in changes.items())
        result = TreeUpdate(new_version, PLACEHOLDER)
        job = _Update(self, new_version, result.writes)
        base = self.root(base_version) if base_version is not None else None
        new_root = job.update(base, 0, 0, entries)
        result.writes[root_key(new_version)] = encode_child(new_root)
        result.root_hash = PLACEHOLDER if new_root is None else new_root.hash
        return result


class _Update:
    """One batch update; holds the records written so far."""

    def __init__(self, tree: SparseMerkleTree, version: int, writes: dict[bytes, bytes]) -> None:
        self.tree = tree
        self.hasher = tree.hasher
        self.version = version
        self.writes = writes
        self.fresh: dict[bytes, Leaf | Internal] = {}

    def _read(self, key: bytes) -> Leaf | Internal:
        node = self.fresh.get(key)
        return node if node is not None else self.tree._load(key)

    def _put(self, depth: int, path: int, node: Leaf | Internal, data: bytes) -> bytes:
        key = node_key(self.version, depth, path)
        self.writes[key] = data
        self.fresh[key] = node
        return key

    def update(self, ref: Child | None, depth: int, path: int, entries: list[tuple[int, bytes | None]]) -> Child | None:
        if not entries:
            return ref
        if ref is None:
            return self.build(depth, path, [e for e in entries if e[1] is not None])
        node = self._read(node_key(ref.version, depth, path))
        if isinstance(node, Leaf):
            existing = int.from_bytes(node.key_hash, "big")
            keys = [k for k, _ in entries]
            i = bisect.bisect_left(keys, existing)
            if i == len(keys) or keys[i] != existing:
                entries = entries[:i] + [(existing, node.value_hash)] + entries[i:]
            return self.build(depth, path, [e for e in entries if e[1] is not None])
        m = _mask(depth)
        split = bisect.bisect_left(entries, (path | m,))
        left = self.update(node.left, depth + 1, path, entries[:split])
        right = self.update(node.right, depth + 1, path | m, entries[split:])
        return self.join(depth, path, left, right)

    def build(self, depth: int, path: int, live: list[tuple[int, bytes | None]]) -> Child | None:
        if not live:
            return None
        if len(live) == 1:
            k, v = live[0]
            assert v is not None
            leaf = Leaf(k.to_bytes(32, "big"), v)
            self._put(depth, path, leaf, encode_leaf(leaf))
            return Child(leaf_hash(self.hasher, leaf.key_hash, v), self.version, True)
        m = _mask(depth)
        split = bisect.bisect_left(live, (path | m,))
        left = self.build(depth + 1, path, live[:split])
        right = self.build(depth + 1, path | m, live[split:])
        return self.join(depth, path, left, right)

    def join(self, depth: int, path: int, left: Child | None, right: Child | None) -> Child | None:
        if left is None and right is None:
            return None
        if left is None and right is not None and right.is_leaf:
            return self.hoist(right, depth + 1, path | _mask(depth), depth, path)
        if right is None and left is not None and left.is_leaf:
            return self.hoist(left, depth + 1, path, depth, path)
        node = Internal(left, right)
        self._put(depth, path, node, encode_internal(node))
        h = internal_hash(
            self.hasher,
            left.hash if left is not None else PLACEHOLDER,
            right.hash if right is not None else PLACEHOLDER,
        )
        return Child(h, self.version, False)

    def hoist(self, leaf_ref: Child, from_depth: int, from_path: int, depth: int, path: int) -> Child:
        """Move a lone leaf up to the top of its now single-leaf subtree."""
        old_key = node_key(leaf_ref.version, from_depth, from_path)
        leaf = self._read(old_key)
        if not isinstance(leaf, Leaf):
            raise NodeDecodeError("expected a leaf while collapsing a subtree")
        if leaf_ref.version == self.version:
            self.writes.pop(old_key, None)
            self.fresh.pop(old_key, None)
        self._put(depth, path, leaf, encode_leaf(leaf))
        return Child(leaf_ref.hash, self.version, True)
