"""Indexer: follow a ledger's committed blocks into the SQL read model, one database transaction per block.

The checkpoint rule: block h's rows and the checkpoint's move to h are written
in the same database transaction, so after a crash the database holds whole
blocks up to its checkpoint and nothing after it, and the next sync() starts at
checkpoint + 1. A block is only indexed if its previous_hash is the hash of the
indexed block before it: a source on another fork (or another ledger) is
refused, never mixed in; rebuild() starts over from genesis.
"""
from __future__ import annotations

import logging

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from chain.crypto import CryptoSuite, get_suite
from chain.indexer.bulk import insert_rows
from chain.indexer.derived import apply_effects
from chain.indexer.errors import IndexerError
from chain.indexer.models import Base, BlockRow, Checkpoint, EventRow, OperationRow, TxRow
from chain.indexer.rows import BlockRows, block_rows, genesis_suite
from chain.indexer.source import BlockSource

log = logging.getLogger(__name__)


class Indexer:
    """Keeps one ledger's read model in one database (or PostgreSQL schema) up to date with a block source."""

    def __init__(self, engine_or_url: Engine | URL | str, source: BlockSource, ledger: str = "main") -> None:
        self._owns_engine = not isinstance(engine_or_url, Engine)
        self.engine = create_engine(engine_or_url) if not isinstance(engine_or_url, Engine) else engine_or_url
        self.source = source
        self.ledger = ledger
        self._tables_ready = False

    def create_tables(self) -> None:
        """Create the read model's tables that do not exist yet."""
        Base.metadata.create_all(self.engine)
        self._tables_ready = True

    def checkpoint(self) -> tuple[int, bytes] | None:
        """(height, block hash) of the last indexed block; None before block 0 is indexed."""
        self._prepare()
        with Session(self.engine) as session:
            mark = self._checkpoint(session)
            return None if mark is None else (mark.height, mark.block_hash)

    def sync(self, until: int | None = None) -> int:
        """Index every committed block after the checkpoint (up to `until`); return how many were indexed."""
        self._prepare()
        with Session(self.engine) as session:
            mark = self._checkpoint(session)
            start, suite = (0, None) if mark is None else (mark.height + 1, get_suite(mark.suite))
        head = self.source.height()
        last = head if until is None else min(until, head)
        if mark is not None and head < mark.height:
            log.warning("ledger %s: the source is at height %d, behind the index at %d", self.ledger, head, mark.height)
        count = 0
        for height in range(start, last + 1):
            block = self.source.block(height)
            if suite is None:
                suite = genesis_suite(block)
            self._store(block_rows(block, suite, height), suite)
            count += 1
        if count:
            log.info("ledger %s: indexed blocks %d..%d", self.ledger, start, last)
        return count

    def rebuild(self) -> int:
        """Drop and recreate the read model's tables, then index from genesis; return the number of blocks indexed."""
        Base.metadata.drop_all(self.engine)
        self.create_tables()
        return self.sync()

    def close(self) -> None:
        """Release the database connections if this indexer opened the engine."""
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one block --------------------------------------------------------------------

    def _prepare(self) -> None:
        if not self._tables_ready:
            self.create_tables()

    def _checkpoint(self, session: Session, lock: bool = False) -> Checkpoint | None:
        """This ledger's checkpoint; refuse a database that indexes another ledger."""
        query = select(Checkpoint)
        marks = list(session.scalars(query.with_for_update() if lock else query))
        others = sorted(m.ledger for m in marks if m.ledger != self.ledger)
        if others:
            raise IndexerError(f"this database indexes ledger {others[0]!r}, not {self.ledger!r}: give each ledger its own "
                               "database or schema", "wrong_ledger")
        return marks[0] if marks else None

    def _store(self, rows: BlockRows, suite: CryptoSuite) -> None:
        """Write one block's rows and move the checkpoint, in one database transaction."""
        with Session(self.engine) as session, session.begin():
            mark = self._checkpoint(session, lock=True)
            self._check_continuity(mark, rows)
            insert_rows(session, BlockRow, [rows.block])
            insert_rows(session, TxRow, rows.transactions)
            insert_rows(session, OperationRow, rows.operations)
            if rows.events:
                first = (session.scalar(select(func.max(EventRow.id))) or 0) + 1
                insert_rows(session, EventRow, [{"id": first + i, **event} for i, event in enumerate(rows.events)])
            if rows.effects or rows.entries:
                apply_effects(session, rows.effects, suite, rows.entries)
            self._advance(session, mark, rows, suite)

    def _check_continuity(self, mark: Checkpoint | None, rows: BlockRows) -> None:
        expected = 0 if mark is None else mark.height + 1
        if rows.height != expected:
            raise IndexerError(f"block {expected} is the next to index, not block {rows.height}: the checkpoint moved "
                               "(is another indexer writing to this database?)", "conflict")
        if mark is not None and rows.previous_hash != mark.block_hash:
            raise IndexerError(
                f"block {rows.height} is not on the indexed chain: its previous_hash {rows.previous_hash.hex()} is not "
                f"{mark.block_hash.hex()}, the hash of indexed block {mark.height}; the source follows another fork or "
                "another ledger (rebuild to index it from genesis)", "fork")

    def _advance(self, session: Session, mark: Checkpoint | None, rows: BlockRows, suite: CryptoSuite) -> None:
        """Move the checkpoint to this block (flushed with the block's transaction)."""
        if mark is None:
            session.add(Checkpoint(ledger=self.ledger, height=rows.height, block_hash=rows.hash, suite=suite.name))
        else:
            mark.height, mark.block_hash = rows.height, rows.hash
