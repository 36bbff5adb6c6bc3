"""The SQL read model of a ledger: blocks, transactions, events and accounts, indexed from committed blocks.

    indexer = Indexer("sqlite:///main.db", NodeSource(NodeClient("127.0.0.1", 7400), "main"))
    indexer.sync()      # every block after the checkpoint, one database transaction each
    indexer.rebuild()   # drop the tables and index again from genesis

The tables are in chain.indexer.models; docs/indexer.md describes them.
"""
from __future__ import annotations

from chain.indexer.errors import IndexerError
from chain.indexer.source import BlockSource, ChainStoreSource, NodeSource
from chain.indexer.sync import Indexer

__all__ = ["BlockSource", "ChainStoreSource", "Indexer", "IndexerError", "NodeSource"]
