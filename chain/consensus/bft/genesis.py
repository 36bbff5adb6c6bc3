"""The certified starting point of an epoch: a vote-less block on top of the ledger block it starts from."""
from __future__ import annotations

from chain.consensus.bft.messages import Block, CertifiedBlock, Digest, QuorumCert


def epoch_genesis(epoch: int, height: int, anchor: bytes, timestamp_ms: int, digest: Digest) -> CertifiedBlock:
    """The root of an epoch's block tree: round 0 at `height`, linked to the ledger block hash `anchor`.

    Every replica of the epoch builds the same one from the same ledger block,
    so its QC needs no votes; it is recognised by equality, never by signatures.
    """
    base = QuorumCert(epoch, 0, max(height - 1, 0), anchor, ())
    block = Block(epoch, 0, height, anchor, base, (), timestamp_ms, 0)
    return CertifiedBlock(block, QuorumCert(epoch, 0, height, block.id(digest), ()))
