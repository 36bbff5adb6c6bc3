"""The interface every consensus engine implements for the node."""
from __future__ import annotations

from abc import ABC, abstractmethod


class ConsensusEngineAPI(ABC):
    """Orders mempool transactions into certified blocks for one ledger and commits them."""

    @abstractmethod
    async def start(self) -> None:
        """Begin producing (or voting on) blocks."""

    @abstractmethod
    async def stop(self) -> None:
        """Finish the block in progress and stop."""

    @abstractmethod
    def transactions_arrived(self) -> None:
        """Hint that the mempool has new work."""
