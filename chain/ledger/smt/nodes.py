"""Stored records of the sparse Merkle tree: 16-ary node records and root pointers.

The tree is binary (hashing and proofs are per bit), but it is stored four
levels at a time, as in Diem's Jellyfish Merkle tree. A binary internal node
at a depth that is a multiple of 4 is the top of a *node record* that holds the
whole binary fragment below it down to four levels further:

    positions (heap order)   depth in the record
          1                  0        the record's own node (always internal)
        2   3                1
      4 5  6 7               2
    8 ...        15          3
    16 ...             31    4        "slots": where child records start

Every position is empty, a leaf (a single-leaf subtree collapsed to its leaf,
stored inline: key hash and value hash), or internal. Internal positions 2..15
carry their binary hash, so proofs read siblings without hashing; an internal
slot (16..31) is a pointer to the child record four levels down: its hash and
the version that wrote it.

Record layout:
    0x02 || internal bitmap (4, bit p = position p) || leaf bitmap (4)
         || hash (32) per internal position 2..31, in position order
         || version (8) per internal slot 16..31, in position order
         || key_hash (32) || value_hash (32) per leaf, in position order

Records are keyed 'n' || version (8) || depth (1) || the first `depth` bits of
the path; the root pointer of a version is keyed 'r' || version (8).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional, Tuple, Union

NODE_PREFIX = b"n"
ROOT_PREFIX = b"r"
RECORD_TAG = 2
HEADER = 9
_VERSION = struct.Struct(">Q")
_HEADER = struct.Struct(">BII")
_VERSIONS = [struct.Struct(f">{n}Q") for n in range(17)]

# Root pointer tags.
ROOT_EMPTY = 0
ROOT_RECORD = 1
ROOT_LEAF = 2

# Bit masks over positions.
SLOTS = 0xFFFF0000  # positions 16..31
_EVEN = 0x55555554  # the left child of every position 1..15
BELOW = tuple(((1 << p) - 1) & ~3 for p in range(32))  # positions 2..p-1
# Descendants of each position inside a record.
DESCENDANTS: tuple[tuple[int, ...], ...] = tuple(
    tuple(q for q in range(2, 32) if q > p and (q >> (q.bit_length() - p.bit_length())) == p) if p else ()
    for p in range(32)
)
# SPREAD[b]: the child pair bits of every set bit i of the byte b (bits 2i and 2i+1).
_SPREAD = tuple(sum(3 << (2 * i) for i in range(8) if b >> i & 1) for b in range(256))


class NodeDecodeError(Exception):
    """A stored node record that does not parse: the database is damaged."""


@dataclass(frozen=True, slots=True)
class Child:
    """A version's root: its hash, the version that wrote it, and whether it is a lone leaf."""

    hash: bytes
    version: int
    is_leaf: bool


# Working form of a record while an update edits it: a list of 32 positions,
# each None (empty) or a state tuple (kind, hash, payload):
#   (INTERNAL, hash, None)     internal position 1..15 (hash None at position 1 until recomputed)
#   (INTERNAL, hash, version)  internal slot 16..31: pointer to a child record
#   (LEAF, hash or None, key_hash || value_hash)
LEAF = 1
INTERNAL = 2
State = Tuple[int, Optional[bytes], Union[bytes, int, None]]

# Decoded record kept in the cache: (internal bitmap, leaf bitmap, raw bytes, version base, leaf base).
Record = Tuple[int, int, bytes, int, int]


def node_key(version: int, depth: int, path: int) -> bytes:
    """Storage key: 'n' || version(8) || depth(1) || the first `depth` bits of the (256-bit) path."""
    nbytes = (depth + 7) >> 3
    prefix = (path >> (256 - depth)) << ((nbytes << 3) - depth) if depth else 0
    return NODE_PREFIX + _VERSION.pack(version) + bytes([depth]) + prefix.to_bytes(nbytes, "big")


def root_key(version: int) -> bytes:
    """Storage key of the root pointer of a version."""
    return ROOT_PREFIX + _VERSION.pack(version)


def decode_record(data: bytes) -> Record:
    """Check a stored node record's structure and return its cached form."""
    if len(data) < HEADER:
        raise NodeDecodeError("node record is shorter than its header")
    tag, internal, leaves = _HEADER.unpack_from(data)
    if tag != RECORD_TAG:
        raise NodeDecodeError(f"unknown node record tag {tag}")
    if internal & 3 != 2 or leaves & 3 or internal & leaves:
        raise NodeDecodeError("node record bitmaps are inconsistent")
    slots = (internal >> 16).bit_count()
    vbase = HEADER + 32 * (internal >> 2).bit_count()
    lbase = vbase + 8 * slots
    if len(data) != lbase + 64 * leaves.bit_count():
        raise NodeDecodeError("node record length does not match its bitmaps")
    present = internal | leaves
    inner = internal & 0xFFFF
    children = _SPREAD[inner & 0xFF] | _SPREAD[inner >> 8] << 16
    if present & ~children & ~2:
        raise NodeDecodeError("node record has a position below a non-internal one")
    either = (present | present >> 1) & _EVEN
    both = present & present >> 1 & _EVEN
    if children & _EVEN & ~either:
        raise NodeDecodeError("node record has an internal position with no children")
    if (either & ~both) & ~((internal | internal >> 1) & _EVEN) & children:
        raise NodeDecodeError("node record has an internal position above a lone leaf")
    return internal, leaves, data, vbase, lbase


def record_header(internal: int, leaves: int) -> bytes:
    """The header of a record with these position bitmaps."""
    return _HEADER.pack(RECORD_TAG, internal, leaves)


def record_layout(data: bytes) -> Record:
    """The cached form of a record this process encoded (decode_record without its checks)."""
    _, internal, leaves = _HEADER.unpack_from(data)
    vbase = HEADER + 32 * (internal >> 2).bit_count()
    return internal, leaves, data, vbase, vbase + 8 * (internal >> 16).bit_count()


def record_states(record: Record) -> list[State | None]:
    """The working form (32 positions) of a decoded record."""
    internal, leaves, data, vbase, lbase = record
    states: list[State | None] = [None] * 32
    states[1] = (INTERNAL, None, None)
    h = HEADER
    v = vbase
    lf = lbase
    present = (internal | leaves) >> 2
    p = 2
    while present:
        if present & 1:
            if internal >> p & 1:
                if p >= 16:
                    states[p] = (INTERNAL, data[h : h + 32], _VERSION.unpack_from(data, v)[0])
                    v += 8
                else:
                    states[p] = (INTERNAL, data[h : h + 32], None)
                h += 32
            else:
                states[p] = (LEAF, None, data[lf : lf + 64])
                lf += 64
        present >>= 1
        p += 1
    return states


def encode_record(states: list[State | None]) -> bytes:
    """Serialize the working form of a record (position 1 must be internal)."""
    internal = 2
    leaves = 0
    hashes: list[bytes] = []
    versions: list[int] = []
    blobs: list[bytes] = []
    for p in range(2, 32):
        s = states[p]
        if s is None:
            continue
        if s[0] == INTERNAL:
            internal |= 1 << p
            hashes.append(s[1])  # type: ignore[arg-type]
            if p >= 16:
                versions.append(s[2])  # type: ignore[arg-type]
        else:
            leaves |= 1 << p
            blobs.append(s[2])  # type: ignore[arg-type]
    return b"".join(
        [_HEADER.pack(RECORD_TAG, internal, leaves), *hashes, _VERSIONS[len(versions)].pack(*versions), *blobs]
    )


def encode_root(state: State | None) -> bytes:
    """Root pointer: 0x00 (empty) | 0x01 || hash || version (a record at depth 0)
    | 0x02 || hash || key_hash || value_hash (a tree of one leaf)."""
    if state is None:
        return bytes([ROOT_EMPTY])
    if state[0] == INTERNAL:
        return bytes([ROOT_RECORD]) + state[1] + _VERSION.pack(state[2])  # type: ignore[operator, arg-type]
    return bytes([ROOT_LEAF]) + state[1] + state[2]  # type: ignore[operator]


def decode_root(data: bytes) -> State | None:
    """Parse a root pointer into a state (see encode_root)."""
    if not data:
        raise NodeDecodeError("empty root pointer")
    tag = data[0]
    if tag == ROOT_EMPTY and len(data) == 1:
        return None
    if tag == ROOT_RECORD and len(data) == 41:
        return (INTERNAL, data[1:33], _VERSION.unpack_from(data, 33)[0])
    if tag == ROOT_LEAF and len(data) == 97:
        return (LEAF, data[1:33], data[33:97])
    raise NodeDecodeError(f"bad root pointer (tag {tag}, {len(data)} bytes)")
