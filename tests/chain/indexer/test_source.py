"""Block sources: a chain store gives what the node's client protocol gives; a running node is indexed over its port."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.contracts import decode_value
from chain.crypto import BatchVerifier, get_suite
from chain.indexer import ChainStoreSource, Indexer, NodeSource
from chain.indexer.models import Checkpoint, ContractRow, DataEntryRow, EventRow, TxRow
from chain.node.service import LedgerService
from tests.chain.indexer.conftest import Database, RunningNode, Sample
from tests.chain.ledger.contract_code import COUNTER


def test_a_chain_store_source_gives_exactly_what_the_node_answers_for_block(sample: Sample) -> None:
    ledger = sample.ledger
    with BatchVerifier(workers=0) as verifier, ThreadPoolExecutor(1) as executor:
        service = LedgerService("main", ledger.chain.kv, ledger.net.validators[0].key, verifier, executor)
        source = ChainStoreSource(ledger.chain)
        assert source.height() == 6
        assert [source.block(h) for h in range(7)] == [service.block(h) for h in range(7)]


def test_a_node_source_indexes_what_a_running_node_committed(db: Database, running_node: RunningNode) -> None:
    receipts = running_node.receipts
    with running_node.process.client() as client:
        status = client.status("main")
        indexer = Indexer(db.engine, NodeSource(client, "main"))
        assert indexer.sync() == status["height"] + 1
        assert indexer.checkpoint() == (status["height"], status["block_hash"])
        assert indexer.sync() == 0
    with Session(db.engine) as s:
        assert s.get(Checkpoint, "main").suite == "sm"  # type: ignore[union-attr]
        conflict = s.get(TxRow, receipts["conflict"]["tx_hash"])
        assert conflict is not None and conflict.code_name == "VERSION_CONFLICT" and conflict.height == receipts["conflict"]["height"]
        entry = s.get(DataEntryRow, ("orders", "po-1"))
        assert entry is not None and (entry.value, entry.version, entry.height) == (b"packed", 0, receipts["open"]["height"])
        contract = s.get(ContractRow, "counter")
        assert contract is not None and contract.code_hash == get_suite("sm").digest(COUNTER)
        [event] = s.scalars(select(EventRow)).all()
        assert (event.id, event.account, event.topic, event.height) == (1, "contract:counter", "Bumped", receipts["bump"]["height"])
        assert decode_value(event.content)["total"] == 4 and event.publisher == entry.writer
