"""Sparse Merkle tree over the whole ledger state, with versioned nodes and compact proofs."""
from __future__ import annotations

from chain.ledger.smt.proof import ProofError, SparseMerkleProof, verify_proof
from chain.ledger.smt.tree import PLACEHOLDER, SparseMerkleTree, TreeUpdate

__all__ = ["PLACEHOLDER", "ProofError", "SparseMerkleProof", "SparseMerkleTree", "TreeUpdate", "verify_proof"]
