"""Indexer: rows of real blocks, derived accounts and contracts, checkpoints across crashes, rebuild, forks refused."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from chain.codec import from_cbor
from chain.contracts import decode_value, encode_args
from chain.crypto import Address
from chain.indexer import ChainStoreSource, Indexer, IndexerError
from chain.indexer.models import (
    BlockRow, Checkpoint, ContractRow, DataAccountRow, DataEntryRow, EventRow, OperationRow, TxRow,
)
from chain.ledger import namespaces as ns
from chain.ledger.errors import ResultCode
from chain.ledger.model import ContractAccount, DataEntry
from chain.ledger.operations import DeployContract, InvokeContract, RegisterDataAccount, WriteKV
from tests.chain.indexer.conftest import Database, Sample, dump
from tests.chain.ledger.conftest import LedgerHarness
from tests.chain.ledger.contract_code import COUNTER, COUNTER_V2, ORG1_ONLY


def _text(address: bytes) -> str:
    return str(Address.decode(address))


def _state(ledger: LedgerHarness, key: bytes) -> bytes:
    value = ledger.chain.state.get(key)
    assert value is not None
    return value


class FailingSource(ChainStoreSource):
    """Fails when asked for one height, as a node that goes away mid-sync."""

    def __init__(self, chain: Any, fail_at: int) -> None:
        super().__init__(chain)
        self.fail_at = fail_at

    def block(self, height: int) -> dict[str, Any]:
        if height == self.fail_at:
            raise ConnectionError(f"lost the node while fetching block {height}")
        return super().block(height)


def _heights(engine: Any) -> dict[str, int | None]:
    with Session(engine) as s:
        return {model.__tablename__: s.scalar(select(func.max(model.height)))
                for model in (BlockRow, TxRow, OperationRow, EventRow, DataEntryRow, ContractRow)}


def test_indexes_blocks_transactions_operations_and_events(db: Database, sample: Sample) -> None:
    chain, receipts = sample.ledger.chain, sample.receipts
    admin, other = (_text(m.address) for m in sample.ledger.net.admins[:2])
    with Indexer(db.engine, ChainStoreSource(chain)) as indexer:
        assert indexer.sync() == 7
        assert indexer.checkpoint() == (6, chain.block_hash(6))
    with Session(db.engine) as s:
        blocks = s.scalars(select(BlockRow).order_by(BlockRow.height)).all()
        assert [b.hash for b in blocks] == [chain.block_hash(h) for h in range(7)]
        assert [b.previous_hash for b in blocks] == [bytes(32)] + [b.hash for b in blocks[:-1]]
        assert [b.tx_count for b in blocks] == [1, 1, 3, 1, 1, 2, 2]
        assert [b.event_count for b in blocks] == [0, 0, 0, 0, 3, 1, 0]
        assert blocks[4].timestamp_ms == chain.header(4).timestamp_ms and blocks[4].state_root == chain.header(4).state_root
        assert blocks[0].proposer == "" and blocks[1].proposer == _text(sample.ledger.net.validators[0].address)

        genesis = s.scalars(select(TxRow).where(TxRow.height == 0)).one()
        assert genesis.hash == chain.transactions(0)[0].hash and genesis.code_name == "SUCCESS" and genesis.signers == ""
        assert genesis.op_types.split(",")[0] == "UpdateLedgerSettings" and "RegisterNode" in genesis.op_types

        conflict = s.get(TxRow, receipts["conflict"].tx_hash)
        assert conflict is not None
        assert (conflict.height, conflict.index, conflict.code, conflict.code_name, conflict.failed_operation) == (
            2, 1, ResultCode.VERSION_CONFLICT, "VERSION_CONFLICT", 0)
        assert conflict.message == "orders/po-1 is at version 1, not 5"
        shipped = s.get(TxRow, receipts["ship"].tx_hash)
        assert shipped is not None and shipped.signers == f"{admin},{other}" and shipped.code_name == "SUCCESS"
        too_many = s.get(TxRow, receipts["too_many"].tx_hash)
        assert too_many is not None and too_many.code_name == "CONTRACT_ERROR" and "too many" in too_many.message
        published = s.get(TxRow, receipts["publish"].tx_hash)
        assert published is not None and published.op_types == "PublishEvent,InvokeContract,PublishEvent"
        assert published.result == receipts["publish"].result and decode_value(published.result)[0][0] == 2

        ops = s.scalars(select(OperationRow).where(OperationRow.tx_hash == receipts["publish"].tx_hash)
                        .order_by(OperationRow.index)).all()
        assert [(o.index, o.type_code, o.type_name, o.account, o.contract, o.function) for o in ops] == [
            (0, 10, "PublishEvent", "alerts", None, None), (1, 13, "InvokeContract", None, "counter", "bump"),
            (2, 10, "PublishEvent", "alerts", None, None)]
        writes = s.scalars(select(OperationRow).where(OperationRow.account == "orders", OperationRow.key == "po-1")).all()
        assert len(writes) == 3  # the failed write is an operation of the block too

        events = s.scalars(select(EventRow).order_by(EventRow.id)).all()
        assert [(e.id, e.account, e.topic, e.sequence, e.height) for e in events] == [
            (1, "alerts", "t", 0, 4), (2, "contract:counter", "Bumped", 0, 4), (3, "alerts", "t", 1, 4),
            (4, "contract:counter", "Bumped", 1, 5)]  # the failed bump's event was rolled back: never published
        assert [events[0].content, events[2].content] == [b"a", b"b"]
        assert decode_value(events[3].content) == {"who": admin, "total": 5}
        assert {e.publisher for e in events} == {admin}
        assert events[3].tx_hash == receipts["bump"].tx_hash


def test_derives_data_entries_accounts_and_contracts_as_the_ledger_holds_them(db: Database, sample: Sample) -> None:
    chain, receipts = sample.ledger.chain, sample.receipts
    admin = _text(sample.ledger.admin.address)
    Indexer(db.engine, ChainStoreSource(chain)).sync()
    with Session(db.engine) as s:
        entries = s.scalars(select(DataEntryRow).order_by(DataEntryRow.key)).all()
        assert [(e.account, e.key, e.value, e.version, e.height) for e in entries] == [
            ("orders", "po-1", b"shipped", 1, 2), ("orders", "po-2", b"newer", 1, 2)]
        for entry in entries:
            on_chain = from_cbor(DataEntry, _state(sample.ledger, ns.data_entry_key(entry.account, entry.key)))
            assert (entry.value, entry.version, entry.writer, entry.tx_hash) == (
                on_chain.value, on_chain.version, _text(on_chain.writer), on_chain.tx_hash)
        account = s.get(DataAccountRow, "orders")
        assert account is not None and (account.owners, account.readers, account.height) == (admin, "", 1)

        contract = s.get(ContractRow, "counter")
        record = from_cbor(ContractAccount, _state(sample.ledger, ns.contract_key("counter")))
        assert contract is not None
        assert (contract.version, contract.code_hash, contract.state) == (record.version, record.code_hash, record.state.name)
        assert (contract.version, contract.code_hash, contract.state) == (1, sample.ledger.suite.digest(COUNTER_V2), "FROZEN")
        assert (contract.deployed_height, contract.height, contract.tx_hash) == (3, 6, receipts["freeze"].tx_hash)
        assert contract.owners == admin


def test_a_crash_in_the_source_leaves_whole_blocks_and_the_next_sync_resumes(db: Database, sample: Sample) -> None:
    chain = sample.ledger.chain
    with pytest.raises(ConnectionError):
        Indexer(db.engine, FailingSource(chain, fail_at=4)).sync()
    indexer = Indexer(db.engine, ChainStoreSource(chain))
    assert indexer.checkpoint() == (3, chain.block_hash(3))
    assert _heights(db.engine) == {"blocks": 3, "transactions": 3, "operations": 3, "events": None,
                                   "data_entries": 2, "contracts": 3}
    assert indexer.sync() == 3
    assert indexer.checkpoint() == (6, chain.block_hash(6))
    reference = Indexer("sqlite://", ChainStoreSource(chain))
    reference.sync()
    assert dump(db.engine) == dump(reference.engine)  # same rows as one uninterrupted sync (on SQLite)


def test_a_failure_while_writing_a_block_rolls_all_of_it_back(db: Database, sample: Sample,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    chain = sample.ledger.chain
    real_advance = Indexer._advance

    def crash_at_5(self: Indexer, session: Session, mark: Any, rows: Any, suite: Any) -> None:
        if rows.height == 5:  # every row of block 5 is written by now, in the same transaction
            raise RuntimeError("power cut")
        real_advance(self, session, mark, rows, suite)

    monkeypatch.setattr(Indexer, "_advance", crash_at_5)
    with pytest.raises(RuntimeError, match="power cut"):
        Indexer(db.engine, ChainStoreSource(chain)).sync()
    assert _heights(db.engine) == {"blocks": 4, "transactions": 4, "operations": 4, "events": 4,
                                   "data_entries": 2, "contracts": 3}
    with Session(db.engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 3
    monkeypatch.setattr(Indexer, "_advance", real_advance)
    indexer = Indexer(db.engine, ChainStoreSource(chain))
    assert indexer.checkpoint() == (4, chain.block_hash(4))
    assert indexer.sync() == 2
    with Session(db.engine) as s:
        assert s.scalars(select(EventRow.id).order_by(EventRow.id)).all() == [1, 2, 3, 4]


def test_rebuild_from_genesis_gives_identical_rows(db: Database, sample: Sample) -> None:
    indexer = Indexer(db.engine, ChainStoreSource(sample.ledger.chain))
    indexer.sync()
    before = dump(db.engine)
    with db.engine.begin() as conn:  # damage the read model: rebuild must not depend on it
        conn.execute(delete(EventRow))
        conn.execute(update(DataEntryRow).values(version=99))
    assert indexer.rebuild() == 7
    assert dump(db.engine) == before
    assert before["events"] and before["data_entries"]


def test_incremental_sync_continues_versions_and_sequences_across_runs(db: Database,
                                                                       new_ledger: Callable[[], LedgerHarness]) -> None:
    ledger = new_ledger()
    indexer = Indexer(db.engine, ChainStoreSource(ledger.chain))
    assert indexer.sync() == 1 and indexer.sync() == 0  # genesis, then nothing new
    ledger.run([RegisterDataAccount("stock", ()), WriteKV("stock", "sku", b"1", -1)])
    ledger.run([WriteKV("stock", "sku", b"2", 0)])
    ledger.run([WriteKV("stock", "sku", b"3", 1), WriteKV("stock", "other", b"x", None)])
    assert indexer.sync(until=2) == 2
    assert indexer.checkpoint() == (2, ledger.chain.block_hash(2))
    assert indexer.sync() == 1
    ledger.run([WriteKV("stock", "sku", b"4", 2)])
    assert indexer.sync() == 1
    with Session(db.engine) as s:
        rows = {e.key: (e.value, e.version, e.height) for e in s.scalars(select(DataEntryRow))}
    assert rows == {"sku": (b"4", 3, 4), "other": (b"x", 0, 3)}
    assert from_cbor(DataEntry, _state(ledger, ns.data_entry_key("stock", "sku"))).version == 3


def test_a_source_on_another_fork_is_refused(db: Database, sample: Sample, new_ledger: Callable[[], LedgerHarness]) -> None:
    fork = new_ledger()  # the same genesis block, then other blocks
    for n in range(5):
        fork.run([RegisterDataAccount(f"fork-{n}", ())])
    assert fork.chain.block_hash(0) == sample.ledger.chain.block_hash(0)
    Indexer(db.engine, ChainStoreSource(sample.ledger.chain)).sync(until=3)
    indexer = Indexer(db.engine, ChainStoreSource(fork.chain))
    with pytest.raises(IndexerError) as refused:
        indexer.sync()
    assert refused.value.code == "fork" and "block 4 is not on the indexed chain" in str(refused.value)
    assert indexer.checkpoint() == (3, sample.ledger.chain.block_hash(3))
    assert _heights(db.engine)["blocks"] == 3
    assert indexer.rebuild() == 6  # an explicit rebuild follows the other fork from genesis
    with Session(db.engine) as s:
        assert s.scalars(select(DataAccountRow.name).order_by(DataAccountRow.name)).all() == [f"fork-{n}" for n in range(5)]


def test_a_database_of_another_ledger_is_refused(db: Database, sample: Sample) -> None:
    Indexer(db.engine, ChainStoreSource(sample.ledger.chain), ledger="main").sync(until=1)
    with pytest.raises(IndexerError) as refused:
        Indexer(db.engine, ChainStoreSource(sample.ledger.chain), ledger="audit").sync()
    assert refused.value.code == "wrong_ledger" and "'main'" in str(refused.value)
    with Session(db.engine) as s:
        assert s.scalars(select(Checkpoint.ledger)).all() == ["main"]


def test_an_in_memory_sqlite_database_works_like_a_file(sample: Sample, tmp_path: Any) -> None:
    memory = Indexer("sqlite://", ChainStoreSource(sample.ledger.chain))
    on_disk = Indexer(f"sqlite:///{tmp_path / 'index.db'}", ChainStoreSource(sample.ledger.chain))
    assert memory.sync(until=2) == 3 and memory.sync() == 4 and on_disk.sync() == 7
    assert dump(memory.engine) == dump(on_disk.engine)
    assert memory.rebuild() == 7 and dump(memory.engine) == dump(on_disk.engine)
    memory.close()
    on_disk.close()


def test_data_keys_a_contract_wrote_are_indexed_from_the_block_with_their_versions(
        db: Database, new_ledger: Callable[[], LedgerHarness]) -> None:
    ledger = new_ledger()
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY), RegisterDataAccount("notes", ())])
    ledger.run([WriteKV("notes", "k", b"v0", -1)])
    assert ledger.run([InvokeContract("counter", "note", encode_args(["k", b"by contract"]))])[0].success
    indexer = Indexer(db.engine, ChainStoreSource(ledger.chain))
    indexer.sync()
    on_chain = from_cbor(DataEntry, _state(ledger, ns.data_entry_key("notes", "k")))
    with Session(db.engine) as s:
        row = s.get(DataEntryRow, ("notes", "k"))
        assert row is not None and (row.value, row.version) == (b"by contract", 1) == (on_chain.value, on_chain.version)
    assert ledger.run([WriteKV("notes", "k", b"v2", None)])[0].success
    indexer.sync()
    with Session(db.engine) as s:
        row = s.get(DataEntryRow, ("notes", "k"))
        assert row is not None and (row.value, row.version) == (b"v2", 2)


def test_without_entries_from_the_source_versions_are_derived_from_writekv(
        db: Database, new_ledger: Callable[[], LedgerHarness]) -> None:
    ledger = new_ledger()
    ledger.run([RegisterDataAccount("notes", ())])
    ledger.run([WriteKV("notes", "k", b"v0", -1)])
    ledger.run([WriteKV("notes", "k", b"v1", None)])

    class OldNode(ChainStoreSource):
        def block(self, height: int) -> dict[str, Any]:
            block = super().block(height)
            block.pop("entries")
            return block

    Indexer(db.engine, OldNode(ledger.chain)).sync()
    with Session(db.engine) as s:
        row = s.get(DataEntryRow, ("notes", "k"))
        assert row is not None and (row.value, row.version) == (b"v1", 1)


def test_an_indexer_whose_checkpoint_moved_under_it_refuses_to_write_the_block_again(db: Database, sample: Sample) -> None:
    chain = sample.ledger.chain
    other = Indexer(db.engine, ChainStoreSource(chain))
    other.sync(until=3)

    class RacingSource(ChainStoreSource):
        """While this indexer fetches block 4, the other one indexes it."""

        def block(self, height: int) -> dict[str, Any]:
            if height == 4:
                other.sync(until=4)
            return super().block(height)

    with pytest.raises(IndexerError) as refused:
        Indexer(db.engine, RacingSource(chain)).sync()
    assert refused.value.code == "conflict" and "block 5 is the next to index, not block 4" in str(refused.value)
    assert other.checkpoint() == (4, chain.block_hash(4)) and _heights(db.engine)["blocks"] == 4
