"""A block whose body does not match its header (or that is not the block asked for) is refused before any row is written."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chain.codec.schema import from_cbor, to_cbor
from chain.indexer import ChainStoreSource, Indexer, IndexerError
from chain.indexer.models import BlockRow
from chain.ledger.block import BlockHeader
from tests.chain.indexer.conftest import Database, Sample

TARGET = 4  # the sample's block with a contract call and three events


def _drop_transaction(block: dict[str, Any]) -> None:
    block["transactions"].pop()
    block["receipts"].pop()


def _change_receipt(block: dict[str, Any]) -> None:
    block["receipts"][0]["code"] = 1


def _event_of_another_block(block: dict[str, Any]) -> None:
    block["events"][0]["height"] = TARGET - 1


def _other_height(block: dict[str, Any]) -> None:
    header = from_cbor(BlockHeader, block["header"])
    block["header"] = to_cbor(BlockHeader(**{**header.__dict__, "height": TARGET + 1}))


class TamperingSource(ChainStoreSource):
    """Alters one block before handing it over."""

    def __init__(self, chain: Any, tamper: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(chain)
        self.tamper = tamper

    def block(self, height: int) -> dict[str, Any]:
        block = copy.deepcopy(super().block(height))
        if height == TARGET:
            self.tamper(block)
        return block


@pytest.mark.parametrize(("tamper", "reason"), [
    (_drop_transaction, "do not match the header's tx_root"),
    (_change_receipt, "do not match the header's receipts_root"),
    (_event_of_another_block, "an event names another block or transaction"),
    (_other_height, f"asked for block {TARGET}, the source sent block {TARGET + 1}"),
])
def test_an_altered_block_is_refused_and_nothing_of_it_is_written(db: Database, sample: Sample, tamper: Callable[..., None],
                                                                   reason: str) -> None:
    indexer = Indexer(db.engine, TamperingSource(sample.ledger.chain, tamper))
    with pytest.raises(IndexerError) as refused:
        indexer.sync()
    assert refused.value.code == "bad_block" and reason in str(refused.value)
    assert indexer.checkpoint() == (TARGET - 1, sample.ledger.chain.block_hash(TARGET - 1))
    with Session(db.engine) as s:
        assert s.scalar(select(func.max(BlockRow.height))) == TARGET - 1
