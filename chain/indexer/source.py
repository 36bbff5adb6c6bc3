"""Where committed blocks come from: a node's client port, or a chain store in this process.

Both give a block as the node's client protocol does for method "block"
(chain.node.service.LedgerService.block): header bytes, transaction bytes,
receipt views, certificate bytes and event views. The indexer reads nothing
else, so a third source (a gateway, an archive) only has to produce that dict.
"""
from __future__ import annotations

from typing import Any, Protocol

from chain.ledger.chain_store import ChainStore
from chain.node.client import NodeClient
from chain.node.service import entry_view, event_view, receipt_view


class BlockSource(Protocol):
    """Committed blocks of one ledger, by height."""

    def height(self) -> int:
        """Height of the last committed block."""
        ...

    def block(self, height: int) -> dict[str, Any]:
        """{"header", "transactions", "receipts", "certificate", "events"} of a committed block."""
        ...


class NodeSource:
    """Blocks of one ledger read from a running node over its client port."""

    def __init__(self, client: NodeClient, ledger: str) -> None:
        self.client = client
        self.ledger = ledger

    def height(self) -> int:
        """The node's committed height of the ledger."""
        return int(self.client.status(self.ledger)["height"])

    def block(self, height: int) -> dict[str, Any]:
        """One committed block as the node sends it."""
        return self.client.call("block", ledger=self.ledger, height=height)  # type: ignore[no-any-return]


class ChainStoreSource:
    """Blocks read from a chain store this process owns (tests, tools working on a stopped node's data)."""

    def __init__(self, chain: ChainStore) -> None:
        self.chain = chain

    def height(self) -> int:
        """The store's committed height."""
        return self.chain.height

    def block(self, height: int) -> dict[str, Any]:
        """The same dict a node answers for method "block"."""
        chain = self.chain
        return {"header": chain.header(height).encode(), "transactions": chain.encoded_transactions(height),
                "receipts": [receipt_view(r) for r in chain.receipts(height)],
                "certificate": chain.certificate(height).encode(),
                "events": [event_view(e) for e in chain.events(height)],
                "entries": [entry_view(a, k, e) for a, k, e in chain.data_entries(height)]}
