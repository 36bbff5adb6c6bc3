"""What a replica keeps across restarts: safety state, the committed tip, and the blocks it voted for above it.

Why the voted blocks: a quorum certificate names a block that at least f + 1
honest replicas voted for. If every replica restarts (a full-consortium
restart), the restored high QC must still name a block that some replica can
serve, or no leader can extend it and the safety rules keep everyone from
moving past it. So a replica keeps every block it adds to its tree (the
uncommitted chain above its tip stays whole), writes the block it votes for
(and, in the node, the batches it carries) together with the round record,
before the vote leaves, and forgets them once they are executed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chain.consensus.bft.messages import Block, CertifiedBlock, QuorumCert, TimeoutCert
from chain.consensus.bft.safety import SafetyState


@dataclass(frozen=True)
class RoundRecord:
    """Safety state plus the certificates that put the replica in its round (so a restart re-enters it)."""

    safety: SafetyState
    high_qc: QuorumCert
    last_tc: TimeoutCert | None


class ConsensusStorageAPI(Protocol):
    """Durable replica state; every save returns only once it is durable."""

    def load_round(self) -> RoundRecord | None:
        """The last saved round record, or None on first start."""
        ...

    def save_round(self, record: RoundRecord, voted: Block | None = None) -> None:
        """Persist the round record, and the block about to be voted for, in one write (before the vote or timeout goes out)."""
        ...

    def save_block(self, block: Block) -> None:
        """Keep a block added to the tree (durable at the latest when the next save_round returns)."""
        ...

    def load_blocks(self) -> list[Block]:
        """Blocks kept and not yet forgotten (any order; the replica keeps those connected to its tip)."""
        ...

    def load_committed(self) -> CertifiedBlock | None:
        """The last committed block with a QC for it, or None before the first commit of the epoch."""
        ...

    def save_committed(self, tip: CertifiedBlock) -> None:
        """Persist the committed tip (after the commit is handed to execution)."""
        ...


class MemoryConsensusStorage:
    """In-memory storage: survives a simulated crash (the simulator keeps the object), not a process exit."""

    def __init__(self) -> None:
        self.round: RoundRecord | None = None
        self.committed: CertifiedBlock | None = None
        self.blocks: list[Block] = []

    def load_round(self) -> RoundRecord | None:
        """The last saved round record."""
        return self.round

    def save_round(self, record: RoundRecord, voted: Block | None = None) -> None:
        """Keep the round record and the voted block."""
        self.round = record
        if voted is not None:
            self.save_block(voted)

    def save_block(self, block: Block) -> None:
        """Keep a block of the tree."""
        if block not in self.blocks:
            self.blocks.append(block)

    def load_blocks(self) -> list[Block]:
        """The kept blocks above the committed tip."""
        return list(self.blocks)

    def load_committed(self) -> CertifiedBlock | None:
        """The last committed tip."""
        return self.committed

    def save_committed(self, tip: CertifiedBlock) -> None:
        """Keep the committed tip; blocks at or below it are no longer needed."""
        self.committed = tip
        self.blocks = [b for b in self.blocks if b.height > tip.block.height]
