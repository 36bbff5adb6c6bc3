"""Test keys for the tree: hashes and near neighbours that share long prefixes, so paths cross many records."""
from __future__ import annotations


def flip_bits(key: bytes, bits: tuple[int, ...]) -> bytes:
    """The 32-byte key with the given bit positions (0 = most significant) flipped."""
    k = int.from_bytes(key, "big")
    for b in bits:
        k ^= 1 << (255 - b)
    return k.to_bytes(32, "big")
