"""Node records and storage keys of the sparse Merkle tree (Jellyfish-style: keyed by version and path)."""
from __future__ import annotations

import struct
from dataclasses import dataclass

NODE_PREFIX = b"n"
ROOT_PREFIX = b"r"
_VERSION = struct.Struct(">Q")


class NodeDecodeError(Exception):
    """A stored node record that does not parse: the database is damaged."""


@dataclass(frozen=True, slots=True)
class Child:
    """A pointer to a stored node: its hash, the version that wrote it, and whether it is a leaf."""

    hash: bytes
    version: int
    is_leaf: bool


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf: the hash of a state key and the hash of its value."""

    key_hash: bytes
    value_hash: bytes


@dataclass(frozen=True, slots=True)
class Internal:
    """An internal node with at least two leaves below it; an empty side is None."""

    left: Child | None
    right: Child | None


def node_key(version: int, depth: int, path: int) -> bytes:
    """Storage key: 'n' || version(8) || depth(1) || the first `depth` bits of the path."""
    nbytes = (depth + 7) >> 3
    prefix = (path >> (256 - depth)) << ((nbytes << 3) - depth) if depth else 0
    return NODE_PREFIX + _VERSION.pack(version) + bytes([depth]) + prefix.to_bytes(nbytes, "big")


def root_key(version: int) -> bytes:
    """Storage key of the root pointer of a version."""
    return ROOT_PREFIX + _VERSION.pack(version)


def encode_child(child: Child | None) -> bytes:
    """flags(1) [|| hash(32) || version(8)]; flags bit0 = present, bit1 = leaf."""
    if child is None:
        return b"\x00"
    return bytes([1 | (2 if child.is_leaf else 0)]) + child.hash + _VERSION.pack(child.version)


def decode_child(data: bytes, offset: int = 0) -> tuple[Child | None, int]:
    """Parse a child pointer at offset; return it and the next offset."""
    flags = data[offset]
    if flags == 0:
        return None, offset + 1
    if flags not in (1, 3) or len(data) < offset + 41:
        raise NodeDecodeError("bad child pointer")
    return Child(data[offset + 1 : offset + 33], _VERSION.unpack_from(data, offset + 33)[0], bool(flags & 2)), offset + 41


def encode_leaf(leaf: Leaf) -> bytes:
    """0x00 || key_hash || value_hash."""
    return b"\x00" + leaf.key_hash + leaf.value_hash


def encode_internal(node: Internal) -> bytes:
    """0x01 || left pointer || right pointer."""
    return b"\x01" + encode_child(node.left) + encode_child(node.right)


def decode_node(data: bytes) -> Leaf | Internal:
    """Parse a stored node record."""
    if not data:
        raise NodeDecodeError("empty node record")
    if data[0] == 0:
        if len(data) != 65:
            raise NodeDecodeError("leaf record must be 65 bytes")
        return Leaf(data[1:33], data[33:65])
    if data[0] == 1:
        left, off = decode_child(data, 1)
        right, off = decode_child(data, off)
        if off != len(data):
            raise NodeDecodeError("trailing bytes after internal node")
        return Internal(left, right)
    raise NodeDecodeError(f"unknown node tag {data[0]}")
