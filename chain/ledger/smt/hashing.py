"""Domain-separated node hashes; the placeholder for an empty subtree is 32 zero bytes."""
from __future__ import annotations

from typing import Callable

Hasher = Callable[[bytes], bytes]

PLACEHOLDER = bytes(32)
LEAF_TAG = b"\x00"
INTERNAL_TAG = b"\x01"


def leaf_hash(hasher: Hasher, key_hash: bytes, value_hash: bytes) -> bytes:
    """H(0x00 || key_hash || value_hash)."""
    return hasher(LEAF_TAG + key_hash + value_hash)


def internal_hash(hasher: Hasher, left: bytes, right: bytes) -> bytes:
    """H(0x01 || left || right); an empty child is PLACEHOLDER."""
    return hasher(INTERNAL_TAG + left + right)


def bit(key_hash: bytes, depth: int) -> int:
    """The depth-th bit of a key hash, most significant first."""
    return (key_hash[depth >> 3] >> (7 - (depth & 7))) & 1
