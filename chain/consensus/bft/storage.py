"""What a replica keeps across restarts: safety state, the committed tip, and certified blocks above it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chain.consensus.bft.messages import CertifiedBlock, QuorumCert, TimeoutCert
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

    def save_round(self, record: RoundRecord) -> None:
        """Persist the round record (before the vote or timeout it allows is sent)."""
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

    def load_round(self) -> RoundRecord | None:
        """The last saved round record."""
        return self.round

    def save_round(self, record: RoundRecord) -> None:
        """Keep the round record."""
        self.round = record

    def load_committed(self) -> CertifiedBlock | None:
        """The last committed tip."""
        return self.committed

    def save_committed(self, tip: CertifiedBlock) -> None:
        """Keep the committed tip."""
        self.committed = tip
