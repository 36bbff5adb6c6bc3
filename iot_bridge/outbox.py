"""The outbox: every accepted device message, durable before the broker hears "acknowledged".

SQLite in WAL mode with synchronous=FULL: a commit returns only after the WAL
is fsynced, so a row whose transaction returned survives kill -9 and power
loss. One row per (device, seq) (the primary key is the duplicate detector);
its status moves pending -> submitted (the signed transaction's bytes are
stored first, in the `txs` table) -> committed, or to refused with the chain's
reason. A row is never deleted by the bridge.

Threads: each thread gets its own connection (WAL lets the drain read while the
intake writes; writers take the database lock with BEGIN IMMEDIATE and wait up
to `busy_timeout_ms`). Every write is one transaction.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from chain.codec import CodecError, decode

PENDING, SUBMITTED, COMMITTED, REFUSED = "pending", "submitted", "committed", "refused"
STATUSES = (PENDING, SUBMITTED, COMMITTED, REFUSED)

Key = tuple[str, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    device       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    digest       BLOB    NOT NULL,
    topic        TEXT    NOT NULL,
    raw          BLOB    NOT NULL,
    organisation TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending',
    tx_hash      BLOB,
    height       INTEGER,
    error        TEXT    NOT NULL DEFAULT '',
    public_key   BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (device, seq)
);
CREATE INDEX IF NOT EXISTS events_status ON events (status);
CREATE INDEX IF NOT EXISTS events_tx ON events (tx_hash) WHERE tx_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS devices (
    device   TEXT    PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    tx_hash       BLOB    PRIMARY KEY,
    organisation  TEXT    NOT NULL,
    raw           BLOB    NOT NULL,
    expiry_height INTEGER NOT NULL,
    submitted_at  INTEGER NOT NULL
);
"""
_COLUMNS = "rowid, device, seq, digest, topic, raw, organisation, received_at, status, tx_hash, height, error, public_key"


@dataclass(frozen=True)
class OutboxRow:
    """One accepted message. `public_key` is the device's encoded key when it was accepted (for mappers)."""

    device: str
    seq: int
    digest: bytes
    topic: str
    raw: bytes
    organisation: str
    received_at: int
    status: str = PENDING
    tx_hash: bytes | None = None
    height: int | None = None
    error: str = ""
    public_key: bytes = b""
    id: int = 0

    @property
    def key(self) -> Key:
        """(device, seq)."""
        return self.device, self.seq


@dataclass(frozen=True)
class SubmittedTx:
    """A transaction the drain signed and stored (then submitted, or was about to), with the rows it carries."""

    tx_hash: bytes
    organisation: str
    raw: bytes
    expiry_height: int
    submitted_at: int
    rows: tuple[OutboxRow, ...]


def now_ms() -> int:
    """Wall-clock milliseconds (received_at, lag)."""
    return time.time_ns() // 1_000_000


def expiry_of(tx_bytes: bytes) -> int:
    """The expiry height of an encoded transaction ([[ledger_id, nonce, expiry_height, ops], endorsements])."""
    try:
        value = decode(tx_bytes, max_size=1 << 24)
        expiry = value[0][2]  # type: ignore[index]
    except (CodecError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"not an encoded transaction: {exc}") from None
    if type(expiry) is not int:
        raise ValueError("not an encoded transaction: expiry_height is not an integer")
    return expiry


class Outbox:
    """The bridge's durable queue (see the module docstring)."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 30_000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._db().executescript(_SCHEMA)

    # -- connections -----------------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the outbox is closed")
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                 timeout=self.busy_timeout_ms / 1000)
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot put {self.path} in WAL mode (got {mode})")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: object, *_: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _write(self) -> Outbox._Tx:
        return Outbox._Tx(self._db())

    def close(self) -> None:
        """Close every connection (any thread's)."""
        with self._lock:
            self._closed = True
            for db in self._all:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    # -- intake ----------------------------------------------------------------------------------------------------

    def add_many(self, rows: Sequence[OutboxRow]) -> list[bool]:
        """Store rows in ONE transaction (durable when this returns); False where (device, seq) was already there."""
        added: list[bool] = []
        with self._write() as db:
            for row in rows:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (device, seq, digest, topic, raw, organisation, received_at, public_key)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.device, row.seq, row.digest, row.topic, row.raw, row.organisation, row.received_at,
                     row.public_key))
                added.append(cursor.rowcount == 1)
                if cursor.rowcount == 1:
                    db.execute("INSERT INTO devices (device, last_seq) VALUES (?, ?) ON CONFLICT (device) DO UPDATE"
                               " SET last_seq = max(last_seq, excluded.last_seq)", (row.device, row.seq))
        return added

    def last_seq(self, device: str) -> int:
        """The highest sequence number stored for a device (0 if none)."""
        found = self._db().execute("SELECT last_seq FROM devices WHERE device = ?", (device,)).fetchone()
        return int(found[0]) if found else 0

    def digests(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        """The stored digest of each (device, seq) that is in the outbox."""
        db = self._db()
        found: dict[Key, bytes] = {}
        for device, seq in keys:
            row = db.execute("SELECT digest FROM events WHERE device = ? AND seq = ?", (device, seq)).fetchone()
            if row is not None:
                found[(device, seq)] = bytes(row[0])
        return found

    def get(self, device: str, seq: int) -> OutboxRow | None:
        """One row, or None."""
        row = self._db().execute(f"SELECT {_COLUMNS} FROM events WHERE device = ? AND seq = ?", (device, seq)).fetchone()
        return None if row is None else _row(row)

    # -- drain -----------------------------------------------------------------------------------------------------

    def pending(self, limit: int) -> list[OutboxRow]:
        """Up to `limit` pending rows, oldest first (so each device's rows come in sequence order)."""
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM events WHERE status = 'pending' ORDER BY rowid LIMIT ?",
                                  (limit,)).fetchall()
        return [_row(r) for r in rows]

    def mark_submitted(self, keys: Sequence[Key], tx_hash: bytes, tx_bytes: bytes, organisation: str = "") -> None:
        """Record the signed transaction carrying these rows; call BEFORE submitting it."""
        expiry = expiry_of(tx_bytes)
        with self._write() as db:
            org = organisation or _org_of(db, keys)
            db.execute("INSERT OR REPLACE INTO txs (tx_hash, organisation, raw, expiry_height, submitted_at)"
                       " VALUES (?, ?, ?, ?, ?)", (tx_hash, org, tx_bytes, expiry, now_ms()))
            db.executemany("UPDATE events SET status = 'submitted', tx_hash = ?, error = '' WHERE device = ? AND seq = ?",
                           [(tx_hash, d, s) for d, s in keys])

    def mark_committed(self, keys: Sequence[Key], tx_hash: bytes, height: int) -> None:
        """These rows are on chain in `tx_hash` at `height`."""
        with self._write() as db:
            db.executemany("UPDATE events SET status = 'committed', tx_hash = ?, height = ?, error = ''"
                           " WHERE device = ? AND seq = ?", [(tx_hash, height, d, s) for d, s in keys])
            _forget_tx(db, tx_hash)

    def mark_refused(self, keys: Sequence[Key], reason: str, tx_hash: bytes | None = None,
                     height: int | None = None) -> None:
        """These rows will never go to chain; `reason` says why (the chain's message for a contract refusal)."""
        with self._write() as db:
            db.executemany("UPDATE events SET status = 'refused', error = ?, tx_hash = ?, height = ?"
                           " WHERE device = ? AND seq = ?", [(reason[:1000], tx_hash, height, d, s) for d, s in keys])
            if tx_hash is not None:
                _forget_tx(db, tx_hash)

    def release(self, keys: Sequence[Key], tx_hash: bytes | None = None, error: str = "") -> None:
        """Back to pending (their transaction can never commit, or was never sent); `error` notes why."""
        with self._write() as db:
            db.executemany("UPDATE events SET status = 'pending', tx_hash = NULL, height = NULL, error = ?"
                           " WHERE device = ? AND seq = ? AND status = 'submitted'",
                           [(error[:1000], d, s) for d, s in keys])
            if tx_hash is not None:
                _forget_tx(db, tx_hash)

    def settle(self, tx_hash: bytes, committed: Sequence[Key], height: int, refused: Sequence[tuple[Key, str]] = (),
               released: Sequence[Key] = ()) -> None:
        """All outcomes of one transaction in one database transaction."""
        with self._write() as db:
            db.executemany("UPDATE events SET status = 'committed', tx_hash = ?, height = ?, error = ''"
                           " WHERE device = ? AND seq = ?", [(tx_hash, height, d, s) for d, s in committed])
            db.executemany("UPDATE events SET status = 'refused', error = ?, tx_hash = ?, height = ?"
                           " WHERE device = ? AND seq = ?", [(r[:1000], tx_hash, height, d, s) for (d, s), r in refused])
            db.executemany("UPDATE events SET status = 'pending', tx_hash = NULL, height = NULL, error = ''"
                           " WHERE device = ? AND seq = ?", list(released))
            _forget_tx(db, tx_hash)

    def submitted(self) -> list[SubmittedTx]:
        """Transactions signed and stored but not settled, oldest first, each with its rows in order."""
        db = self._db()
        txs = db.execute("SELECT tx_hash, organisation, raw, expiry_height, submitted_at FROM txs"
                         " ORDER BY submitted_at, rowid").fetchall()
        found = []
        for tx_hash, org, raw, expiry, at in txs:
            rows = db.execute(f"SELECT {_COLUMNS} FROM events WHERE tx_hash = ? AND status = 'submitted' ORDER BY rowid",
                              (tx_hash,)).fetchall()
            found.append(SubmittedTx(bytes(tx_hash), org, bytes(raw), int(expiry), int(at), tuple(_row(r) for r in rows)))
        return found

    # -- monitoring ------------------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per status (every status present, 0 if none)."""
        found = dict.fromkeys(STATUSES, 0)
        for status, n in self._db().execute("SELECT status, count(*) FROM events GROUP BY status"):
            found[status] = int(n)
        return found

    def lag_ms(self) -> int:
        """Age of the oldest row not yet settled (pending or submitted), 0 if none."""
        found = self._db().execute("SELECT min(received_at) FROM events WHERE status IN ('pending', 'submitted')"
                                   ).fetchone()
        return 0 if found is None or found[0] is None else max(0, now_ms() - int(found[0]))

    def rows(self, status: str | None = None) -> Iterator[OutboxRow]:
        """Every row (or every row of one status), in insertion order."""
        query = f"SELECT {_COLUMNS} FROM events" + (" WHERE status = ?" if status else "") + " ORDER BY rowid"
        for row in self._db().execute(query, (status,) if status else ()).fetchall():
            yield _row(row)


def _row(r: tuple[object, ...]) -> OutboxRow:
    (rowid, device, seq, digest, topic, raw, org, received, status, tx_hash, height, error, public_key) = r
    return OutboxRow(str(device), int(seq), bytes(digest), str(topic), bytes(raw), str(org),  # type: ignore[arg-type]
                     int(received), str(status), None if tx_hash is None else bytes(tx_hash),  # type: ignore[arg-type]
                     None if height is None else int(height), str(error), bytes(public_key), int(rowid))  # type: ignore[arg-type]


def _org_of(db: sqlite3.Connection, keys: Sequence[Key]) -> str:
    if not keys:
        return ""
    found = db.execute("SELECT organisation FROM events WHERE device = ? AND seq = ?", keys[0]).fetchone()
    return "" if found is None else str(found[0])


def _forget_tx(db: sqlite3.Connection, tx_hash: bytes) -> None:
    """Drop a settled transaction's bytes once none of its rows is still waiting on it."""
    waiting = db.execute("SELECT 1 FROM events WHERE tx_hash = ? AND status = 'submitted' LIMIT 1", (tx_hash,)).fetchone()
    if waiting is None:
        db.execute("DELETE FROM txs WHERE tx_hash = ?", (tx_hash,))
