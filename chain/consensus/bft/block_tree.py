"""Blocks above the committed tip, their QCs, the highest QC, and the two-chain commit rule."""
from __future__ import annotations

from chain.consensus.bft.messages import Block, CertifiedBlock, Digest, QuorumCert


class BlockTree:
    """Uncommitted blocks hanging off the committed tip; commits when a block's certified child is from the next round."""

    def __init__(self, digest: Digest, tip: CertifiedBlock, recent: int = 256) -> None:
        self._digest = digest
        self.committed = tip.block
        self.committed_id = tip.block.id(digest)
        self.high_qc = tip.qc
        self._blocks: dict[bytes, Block] = {self.committed_id: tip.block}
        self._qcs: dict[bytes, QuorumCert] = {self.committed_id: tip.qc}
        self._archive: dict[int, CertifiedBlock] = {tip.block.height: tip}
        self._recent = recent

    def get(self, block_id: bytes) -> Block | None:
        """A known block."""
        return self._blocks.get(block_id)

    def qc_for(self, block_id: bytes) -> QuorumCert | None:
        """The QC certifying a known block, if any."""
        return self._qcs.get(block_id)

    def add(self, block: Block) -> bytes:
        """Remember a (validated) block; returns its id."""
        block_id = block.id(self._digest)
        if block.height > self.committed.height:
            self._blocks.setdefault(block_id, block)
        return block_id

    def certify(self, qc: QuorumCert) -> list[Block]:
        """Record a QC; returns blocks now committed, in height order (empty if the chain is not yet complete)."""
        if qc.round > self.high_qc.round:
            self.high_qc = qc
        if qc.height <= self.committed.height:
            return []
        self._qcs.setdefault(qc.block_id, qc)
        return self._try_commit(qc.block_id)

    def _try_commit(self, block_id: bytes) -> list[Block]:
        """Two-chain rule: a certified block whose parent is certified one round earlier commits the parent."""
        block = self._blocks.get(block_id)
        if block is None:
            return []
        parent = self._blocks.get(block.parent)
        if parent is None or parent.round + 1 != block.round or parent.height <= self.committed.height:
            return []
        chain = self._ancestry(block.parent)
        if chain is None:
            return []
        for b, child in zip(chain, chain[1:] + [block]):
            self._archive[b.height] = CertifiedBlock(b, child.justify)
        self.committed = chain[-1]
        self.committed_id = block.parent
        self._prune()
        return chain

    def _ancestry(self, block_id: bytes) -> list[Block] | None:
        """Blocks from just above the committed tip up to block_id, or None if a link is missing or forks off."""
        chain: list[Block] = []
        current = block_id
        while current != self.committed_id:
            block = self._blocks.get(current)
            if block is None or block.height <= self.committed.height:
                return None
            chain.append(block)
            current = block.parent
        chain.reverse()
        return chain

    def _prune(self) -> None:
        """Drop blocks at or below the committed height except the tip, and old committed ids."""
        height = self.committed.height
        for block_id in [i for i, b in self._blocks.items() if b.height <= height and i != self.committed_id]:
            del self._blocks[block_id]
            self._qcs.pop(block_id, None)
        for h in [h for h in self._archive if h < height - self._recent]:
            del self._archive[h]

    def certified_committed(self, blocks: list[Block]) -> list[CertifiedBlock]:
        """The just-committed blocks with their QCs (from the archive)."""
        return [self._archive[b.height] for b in blocks]

    def committed_tip(self) -> CertifiedBlock:
        """The committed tip with a QC for it."""
        return self._archive[self.committed.height]

    def uncommitted_payload(self, block_id: bytes) -> set[bytes]:
        """Batch digests in block_id and its uncommitted ancestors (a new block must not repeat them)."""
        digests: set[bytes] = set()
        current = block_id
        while current != self.committed_id:
            block = self._blocks.get(current)
            if block is None:
                break
            digests.update(block.payload)
            current = block.parent
        return digests

    def certified_path(self, target: bytes, above_height: int, limit: int) -> list[CertifiedBlock]:
        """Certified blocks from above_height + 1 towards target (for a lagging peer), at most limit of them.

        Committed blocks come from the recent archive; a peer further behind than
        the archive needs ledger state sync instead.
        """
        path: list[CertifiedBlock] = []
        for height in range(above_height + 1, self.committed.height + 1):
            if height not in self._archive or len(path) >= limit:
                return path
            path.append(self._archive[height])
        uncommitted: list[CertifiedBlock] = []
        current = target
        while current != self.committed_id:
            block, qc = self._blocks.get(current), self._qcs.get(current)
            if block is None or qc is None or block.height <= self.committed.height:
                return path  # target is not certified on our committed chain
            uncommitted.append(CertifiedBlock(block, qc))
            current = block.parent
        path.extend(reversed(uncommitted))
        return [c for c in path if c.block.height > above_height][:limit]
