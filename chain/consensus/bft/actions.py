"""What a replica asks its driver to do."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from chain.consensus.bft.messages import CertifiedBlock, Message


@dataclass(frozen=True)
class Send:
    """Send a message to one committee member."""

    to: int
    message: Message


@dataclass(frozen=True)
class Broadcast:
    """Send a message to every other committee member."""

    message: Message


@dataclass(frozen=True)
class Commit:
    """Blocks ordered for good, in height order, each with a QC for it: hand them to execution."""

    blocks: tuple[CertifiedBlock, ...]


@dataclass(frozen=True)
class FetchBatches:
    """Get these batches (a proposal waits for them) from `peer`, which referenced them."""

    digests: tuple[bytes, ...]
    peer: int


@dataclass(frozen=True)
class Wake:
    """Call `tick` at this time (ms) at the latest."""

    at_ms: int


Action = Union[Send, Broadcast, Commit, FetchBatches, Wake]
