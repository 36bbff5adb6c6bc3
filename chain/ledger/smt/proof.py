"""SparseMerkleProof and its verification: pure functions a light client runs alone."""
from __future__ import annotations

from dataclasses import dataclass

from chain.ledger.smt.hashing import PLACEHOLDER, Hasher, bit, internal_hash, leaf_hash

MAX_DEPTH = 256


class ProofError(Exception):
    """A proof that does not verify; `code` says why."""

    def __init__(self, message: str, code: str = "invalid_proof") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SparseMerkleProof:
    """Siblings from the root down to where the key's path ends, and the leaf found there (if any).

    `siblings[i]` is the sibling hash at depth i (PLACEHOLDER for an empty subtree).
    `leaf` is (key_hash, value_hash) of the leaf that ends the path: the key's own
    leaf for an inclusion proof; another key's leaf, or None for an empty
    subtree, for a non-inclusion proof.
    """

    siblings: tuple[bytes, ...]
    leaf: tuple[bytes, bytes] | None

    def to_cbor(self) -> list[object]:
        """Array form: [bitmap of non-empty siblings, [non-empty siblings...], leaf or null]."""
        bitmap = 0
        present = []
        for i, s in enumerate(self.siblings):
            if s != PLACEHOLDER:
                bitmap |= 1 << i
                present.append(s)
        leaf = list(self.leaf) if self.leaf is not None else None
        return [len(self.siblings), bitmap.to_bytes((len(self.siblings) + 7) // 8, "little"), present, leaf]

    @classmethod
    def from_cbor(cls, obj: object) -> SparseMerkleProof:
        """Parse the array form, refusing anything malformed."""
        if not (isinstance(obj, (list, tuple)) and len(obj) == 4):
            raise ProofError("proof must be a 4-element array", "malformed_proof")
        depth, bitmap_bytes, present, leaf = obj
        if not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
            raise ProofError("proof depth out of range", "malformed_proof")
        if not isinstance(bitmap_bytes, bytes) or len(bitmap_bytes) != (depth + 7) // 8:
            raise ProofError("proof bitmap has the wrong length", "malformed_proof")
        if not isinstance(present, (list, tuple)) or not all(isinstance(s, bytes) and len(s) == 32 for s in present):
            raise ProofError("proof siblings must be 32-byte strings", "malformed_proof")
        bitmap = int.from_bytes(bitmap_bytes, "little")
        if bitmap >> depth or bin(bitmap).count("1") != len(present):
            raise ProofError("proof bitmap does not match its siblings", "malformed_proof")
        it = iter(present)
        siblings = tuple(next(it) if bitmap >> i & 1 else PLACEHOLDER for i in range(depth))
        if leaf is not None:
            if not (isinstance(leaf, (list, tuple)) and len(leaf) == 2 and all(isinstance(x, bytes) and len(x) == 32 for x in leaf)):
                raise ProofError("proof leaf must be [key_hash, value_hash]", "malformed_proof")
            leaf = (bytes(leaf[0]), bytes(leaf[1]))
        return cls(siblings, leaf)


def root_from_proof(hasher: Hasher, key_hash: bytes, proof: SparseMerkleProof) -> bytes:
    """The root hash the proof commits to for this key's path."""
    current = PLACEHOLDER if proof.leaf is None else leaf_hash(hasher, *proof.leaf)
    for depth in range(len(proof.siblings) - 1, -1, -1):
        sibling = proof.siblings[depth]
        if bit(key_hash, depth):
            current = internal_hash(hasher, sibling, current)
        else:
            current = internal_hash(hasher, current, sibling)
    return current


def _shares_prefix(a: bytes, b: bytes, bits: int) -> bool:
    full, rest = divmod(bits, 8)
    if a[:full] != b[:full]:
        return False
    if rest:
        mask = (0xFF << (8 - rest)) & 0xFF
        return (a[full] & mask) == (b[full] & mask)
    return True


def verify_proof(
    hasher: Hasher, root: bytes, key_hash: bytes, value_hash: bytes | None, proof: SparseMerkleProof
) -> None:
    """Raise ProofError unless the proof shows key_hash -> value_hash (or absence if None) under root."""
    if len(key_hash) != 32 or len(root) != 32:
        raise ProofError("key hash and root must be 32 bytes", "malformed_proof")
    depth = len(proof.siblings)
    if depth > MAX_DEPTH:
        raise ProofError("proof is deeper than the tree", "malformed_proof")
    if value_hash is not None:
        if proof.leaf is None or proof.leaf[0] != key_hash:
            raise ProofError("the proof does not end at this key's leaf", "not_included")
        if proof.leaf[1] != value_hash:
            raise ProofError("the proven value differs from the claimed value", "value_mismatch")
    elif proof.leaf is not None:
        if proof.leaf[0] == key_hash:
            raise ProofError("the key is present, so absence cannot be proven", "is_included")
        if not _shares_prefix(proof.leaf[0], key_hash, depth):
            raise ProofError("the proof's leaf is not on this key's path", "wrong_path")
    if root_from_proof(hasher, key_hash, proof) != root:
        raise ProofError("the proof does not lead to the trusted root", "root_mismatch")
