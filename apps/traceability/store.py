"""The traceability read model (SQLAlchemy; SQLite by default, PostgreSQL in production).

What the chain holds is mirrored here from committed transactions and contract
state, so pages and queries never wait on a node: products, batches, events
with their EPCIS documents, and the state of every item an event touched.
Two things live only here, by design: a brand's item codes with their PINs
(the chain has only the Merkle root of their hashes) and the consumer scan log
(committed to the chain as a root per period).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import (
    BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, create_engine, delete, event, insert,
    select, update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

#: Rows per INSERT when a batch's codes are stored.
CODE_CHUNK = 20_000


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "trace_products"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    org: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(12))
    height: Mapped[int] = mapped_column(BigInteger)


class Batch(Base):
    __tablename__ = "trace_batches"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    org: Mapped[str] = mapped_column(String(128), index=True)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    expiry: Mapped[str] = mapped_column(String(6), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending -> committed
    recalled: Mapped[str] = mapped_column(String(256), default="")
    height: Mapped[int] = mapped_column(BigInteger, default=0)
    tx_hash: Mapped[str] = mapped_column(String(64), default="")


class Tree(Base):
    __tablename__ = "trace_trees"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Code(Base):
    __tablename__ = "trace_codes"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20))
    idx: Mapped[int] = mapped_column(Integer)
    pin_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    pin: Mapped[str] = mapped_column(String(10))  # the brand's own copy, for printing labels; never on chain
    salt: Mapped[bytes] = mapped_column(LargeBinary(16), default=b"")  # revealed on chain only when the PIN is claimed
    __table_args__ = (Index("ix_trace_codes_batch", "gtin", "lot", "idx"),)


class Event(Base):
    __tablename__ = "trace_events"
    event_hash: Mapped[str] = mapped_column(String(100), primary_key=True)
    org: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8), default="")
    biz_step: Mapped[str] = mapped_column(String(64), default="")
    disposition: Mapped[str] = mapped_column(String(64), default="")
    event_time: Mapped[str] = mapped_column(String(40), index=True)  # UTC, ISO 8601 with milliseconds: sorts as text
    read_point: Mapped[str] = mapped_column(String(256), default="")
    biz_location: Mapped[str] = mapped_column(String(256), default="")
    document: Mapped[str] = mapped_column(Text)  # the event's EPCIS 2.0 JSON
    height: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(String(64))
    corrects: Mapped[str] = mapped_column(String(100), default="")
    corrected_by: Mapped[str] = mapped_column(String(100), default="")


class EventEpc(Base):
    __tablename__ = "trace_event_epcs"
    event_hash: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # epc, parent, child, input, output
    __table_args__ = (Index("ix_trace_event_epcs_key", "key"),)


class Item(Base):
    __tablename__ = "trace_items"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(128))
    parent: Mapped[str] = mapped_column(String(64), default="")
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    commissioned: Mapped[bool] = mapped_column(Boolean, default=False)
    height: Mapped[int] = mapped_column(BigInteger)


class Scan(Base):
    __tablename__ = "trace_scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    place: Mapped[str] = mapped_column(String(64), default="")
    client: Mapped[str] = mapped_column(String(64), default="")
    verdict: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32), default="")  # set once committed on chain


class Report(Base):
    __tablename__ = "trace_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(1000), default="")
    place: Mapped[str] = mapped_column(String(64), default="")


class DeviceAssignment(Base):
    """Which shipment (or item) an IoT device reports on, and the range its readings must stay in.

    Operational data of the organisation that attached the device (like the scan
    log it is not rebuilt from the chain); every reading anchored on chain names
    the device and the shipment itself.
    """

    __tablename__ = "trace_device_assignments"
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    org: Mapped[str] = mapped_column(String(64))
    epc: Mapped[str] = mapped_column(String(64))  # contract key, e.g. sscc:106141410000007773
    epc_uri: Mapped[str] = mapped_column(String(128))
    low: Mapped[str] = mapped_column(String(24))  # decimal text: no floats in what reaches the chain
    high: Mapped[str] = mapped_column(String(24))
    uom: Mapped[str] = mapped_column(String(8), default="CEL")
    since_ms: Mapped[int] = mapped_column(BigInteger)


class Checkpoint(Base):
    __tablename__ = "trace_checkpoints"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    height: Mapped[int] = mapped_column(BigInteger)


ROW_TYPES = (Product, Batch, Tree, Code, Event, EventEpc, Item, Scan, Report, DeviceAssignment, Checkpoint)


def row_dict(row: Any) -> dict[str, Any]:
    """A mapped row as a plain dict of its columns."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Readers beside one writer (WAL), and writers that wait for each other instead of failing at once."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class TraceStore:
    """The read model's tables and the few queries pages need, over one engine."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)

    def session(self) -> Session:
        """A new session (use as a context manager)."""
        return Session(self.engine, expire_on_commit=False)

    # -- writes ---------------------------------------------------------------------------------------------------

    def put(self, row: Any) -> None:
        """Insert or replace one row."""
        with self.session() as s, s.begin():
            s.merge(row)

    def put_codes(self, gtin: str, lot: str, serials: Sequence[str], pins: Sequence[str], salts: Sequence[bytes],
                  pin_hashes: Sequence[bytes], tree: bytes) -> None:
        """Store a batch's item codes and Merkle tree (one transaction)."""
        with self.engine.begin() as conn:
            for table in (Code, Tree):
                conn.execute(delete(table).where(table.gtin == gtin, table.lot == lot))
            for start in range(0, len(serials), CODE_CHUNK):
                conn.execute(insert(Code), [
                    {"gtin": gtin, "serial": serials[i], "lot": lot, "idx": i, "pin_hash": pin_hashes[i], "pin": pins[i],
                     "salt": salts[i]}
                    for i in range(start, min(start + CODE_CHUNK, len(serials)))])
            conn.execute(insert(Tree), [{"gtin": gtin, "lot": lot, "data": tree}])

    def add(self, row: Any) -> None:
        """Insert one new row (no lookup first: for append-only tables such as the scan log)."""
        with self.session() as s, s.begin():
            s.add(row)

    def drop_codes(self, gtin: str, lot: str) -> None:
        """Forget a batch that was never committed, with its codes and tree."""
        with self.engine.begin() as conn:
            for table in (Code, Tree, Batch):
                conn.execute(delete(table).where(table.gtin == gtin, table.lot == lot))

    def put_event(self, event: Event, epcs: Iterable[tuple[str, str]]) -> None:
        """Insert an anchored event with the identifiers it names (idempotent)."""
        with self.session() as s, s.begin():
            if s.get(Event, event.event_hash) is not None:
                return
            s.add(event)
            s.add_all(EventEpc(event_hash=event.event_hash, key=key, role=role) for key, role in set(epcs))
            if event.corrects:
                s.execute(update(Event).where(Event.event_hash == event.corrects).values(corrected_by=event.event_hash))

    def set_checkpoint(self, name: str, height: int) -> None:
        """Remember how far a sync got."""
        self.put(Checkpoint(name=name, height=height))

    def set_scan_period(self, ids: Sequence[int], period: str) -> None:
        """Mark scans as committed on chain under a period."""
        with self.engine.begin() as conn:
            conn.execute(update(Scan).where(Scan.id.in_(ids)).values(period=period))

    # -- reads ----------------------------------------------------------------------------------------------------

    def get(self, row_type: type[Any], *key: Any) -> Any:
        """One row by primary key, or None."""
        with self.session() as s:
            return s.get(row_type, key if len(key) > 1 else key[0])

    def checkpoint(self, name: str) -> int:
        """The height a sync reached (0 if never run)."""
        found = self.get(Checkpoint, name)
        return 0 if found is None else int(found.height)

    def all(self, statement: Any) -> list[Any]:
        """Every row a select statement yields."""
        with self.session() as s:
            return list(s.scalars(statement))

    def products(self, org: str | None = None) -> list[Product]:
        """Products, one organisation's or all."""
        q = select(Product).order_by(Product.gtin)
        return self.all(q if org is None else q.where(Product.org == org))

    def batches(self, org: str | None = None, gtin: str | None = None) -> list[Batch]:
        """Batches, newest first."""
        q = select(Batch).order_by(Batch.height.desc(), Batch.gtin, Batch.lot)
        if org is not None:
            q = q.where(Batch.org == org)
        if gtin is not None:
            q = q.where(Batch.gtin == gtin)
        return self.all(q)

    def codes(self, gtin: str, lot: str, limit: int | None = None, offset: int = 0) -> list[Code]:
        """A batch's item codes in issue order."""
        q = select(Code).where(Code.gtin == gtin, Code.lot == lot).order_by(Code.idx).offset(offset)
        return self.all(q if limit is None else q.limit(limit))

    def events_of(self, keys: Sequence[str]) -> list[Event]:
        """Events naming any of the keys, in event-time order."""
        q = (select(Event).join(EventEpc, EventEpc.event_hash == Event.event_hash).where(EventEpc.key.in_(list(keys)))
             .distinct().order_by(Event.event_time, Event.height))
        return self.all(q)

    def keys_of_events(self, event_hashes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """(key, role) of every identifier each event names, in one query."""
        found: dict[str, list[tuple[str, str]]] = {h: [] for h in event_hashes}
        if not found:
            return found
        q = select(EventEpc).where(EventEpc.event_hash.in_(list(found))).order_by(EventEpc.key)
        for row in self.all(q):
            found[row.event_hash].append((row.key, row.role))
        return found

    def parents_of(self, keys: Sequence[str]) -> list[str]:
        """Containers that aggregation events ever packed any of the keys into."""
        packed = select(EventEpc.event_hash).where(EventEpc.key.in_(list(keys)), EventEpc.role == "child")
        q = select(EventEpc.key).where(EventEpc.event_hash.in_(packed), EventEpc.role == "parent").distinct()
        with self.session() as s:
            return sorted(s.scalars(q))

    def keys_of(self, event_hash: str, role: str | None = None) -> list[str]:
        """Identifiers an event names (in one role or all)."""
        q = select(EventEpc.key).where(EventEpc.event_hash == event_hash).order_by(EventEpc.key)
        with self.session() as s:
            return list(s.scalars(q if role is None else q.where(EventEpc.role == role)))

    def scans_since(self, key: str, since_ms: int) -> list[Scan]:
        """An item's scans since a time."""
        return self.all(select(Scan).where(Scan.key == key, Scan.at_ms >= since_ms).order_by(Scan.at_ms))

    def uncommitted_scans(self, before_ms: int, limit: int = 100_000) -> list[Scan]:
        """Scans not yet committed on chain, oldest first."""
        return self.all(select(Scan).where(Scan.period == "", Scan.at_ms < before_ms).order_by(Scan.id).limit(limit))

    def children_of(self, container: str) -> list[str]:
        """Items and containers the read model has packed in a container."""
        with self.session() as s:
            return list(s.scalars(select(Item.key).where(Item.parent == container).order_by(Item.key)))
