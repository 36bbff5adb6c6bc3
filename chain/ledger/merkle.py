"""Merkle tree over an ordered list (RFC 6962 shape) with inclusion proofs: tx and receipt roots.

Unlike RFC 6962, the root also commits to the number of leaves
(root = H(0x02 || size(8) || tree)), so a proof cannot claim a wrong position
or list size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from chain.ledger.smt.hashing import PLACEHOLDER, Hasher

_LEAF = b"\x00"
_NODE = b"\x01"
_SIZE = b"\x02"


def _split(n: int) -> int:
    """Largest power of two strictly less than n."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _root(hasher: Hasher, leaves: Sequence[bytes]) -> bytes:
    level = [hasher(_LEAF + leaf) for leaf in leaves]
    return _fold(hasher, level)


def _fold(hasher: Hasher, nodes: list[bytes]) -> bytes:
    if len(nodes) == 1:
        return nodes[0]
    k = _split(len(nodes))
    return hasher(_NODE + _fold(hasher, nodes[:k]) + _fold(hasher, nodes[k:]))


def _sized(hasher: Hasher, size: int, tree: bytes) -> bytes:
    return hasher(_SIZE + size.to_bytes(8, "big") + tree)


def list_root(hasher: Hasher, leaves: Sequence[bytes]) -> bytes:
    """Root over leaf byte strings, committing to their number (an empty list commits to size 0)."""
    return _sized(hasher, len(leaves), _root(hasher, leaves) if leaves else PLACEHOLDER)


@dataclass(frozen=True, slots=True)
class ListProof:
    """Audit path of leaf `index` in a list of `size` leaves, bottom-up."""

    index: int
    size: int
    path: tuple[bytes, ...]

    def to_value(self) -> list[object]:
        """[index, size, [hashes...]]."""
        return [self.index, self.size, list(self.path)]

    @classmethod
    def from_value(cls, value: object) -> ListProof:
        """Parse [index, size, [hashes...]]."""
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], int) and isinstance(value[1], int)
                and isinstance(value[2], list) and all(isinstance(h, bytes) and len(h) == 32 for h in value[2])):
            raise ValueError("a list proof must be [index, size, [32-byte hashes]]")
        return cls(value[0], value[1], tuple(value[2]))


def list_proof(hasher: Hasher, leaves: Sequence[bytes], index: int) -> ListProof:
    """Inclusion proof of leaves[index]."""
    if not 0 <= index < len(leaves):
        raise IndexError("leaf index out of range")
    nodes = [hasher(_LEAF + leaf) for leaf in leaves]
    path: list[bytes] = []
    _collect(hasher, nodes, index, path)
    return ListProof(index, len(leaves), tuple(path))


def _collect(hasher: Hasher, nodes: list[bytes], index: int, path: list[bytes]) -> None:
    if len(nodes) == 1:
        return
    k = _split(len(nodes))
    if index < k:
        _collect(hasher, nodes[:k], index, path)
        path.append(_fold(hasher, nodes[k:]))
    else:
        _collect(hasher, nodes[k:], index - k, path)
        path.append(_fold(hasher, nodes[:k]))


def root_from_list_proof(hasher: Hasher, leaf: bytes, proof: ListProof) -> bytes | None:
    """The root the proof leads to from leaf, or None if the proof's shape is impossible."""
    if not 0 <= proof.index < proof.size:
        return None
    tree = _climb(hasher, hasher(_LEAF + leaf), proof.index, proof.size, list(proof.path))
    return None if tree is None else _sized(hasher, proof.size, tree)


def _climb(hasher: Hasher, node: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    if size == 1:
        return node if not path else None
    if not path:
        return None
    k = _split(size)
    if index < k:
        inner = _climb(hasher, node, index, k, path[:-1])
        return None if inner is None else hasher(_NODE + inner + path[-1])
    inner = _climb(hasher, node, index - k, size - k, path[:-1])
    return None if inner is None else hasher(_NODE + path[-1] + inner)


def verify_list_proof(hasher: Hasher, root: bytes, leaf: bytes, proof: ListProof) -> bool:
    """True iff leaf is at proof.index in the list whose root is root."""
    return root_from_list_proof(hasher, leaf, proof) == root
