"""The outbox: SQLite WAL + synchronous=FULL, one row per (device, seq), the status life cycle, two threads."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from iot_bridge.outbox import COMMITTED, PENDING, REFUSED, SUBMITTED, Outbox, OutboxRow, expiry_of, now_ms
from chain.codec import encode


def _row(device: str, seq: int, org: str = "acme") -> OutboxRow:
    return OutboxRow(device, seq, bytes([seq % 256]) * 32, f"trace/{org}/{device}/events", b"raw%d" % seq, org,
                     now_ms(), public_key=b"k")


def _tx(expiry: int) -> bytes:
    return encode([[bytes(32), b"nonce", expiry, [[1, b"op"]]], [[b"pk", b"sig"]]])


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


def test_wal_and_full_sync(tmp_path: Path, outbox: Outbox) -> None:
    outbox.add_many([_row("d", 1)])
    db = sqlite3.connect(tmp_path / "outbox.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_add_many_is_one_transaction_and_reports_existing_keys(outbox: Outbox) -> None:
    assert outbox.add_many([_row("d", 1), _row("d", 2)]) == [True, True]
    assert outbox.add_many([_row("d", 2), _row("d", 3), _row("e", 1)]) == [False, True, True]
    assert outbox.last_seq("d") == 3 and outbox.last_seq("e") == 1 and outbox.last_seq("x") == 0
    assert outbox.counts() == {PENDING: 4, SUBMITTED: 0, COMMITTED: 0, REFUSED: 0}
    with pytest.raises(sqlite3.Error):
        outbox.add_many([_row("d", 9), OutboxRow("d", 10, object(), "t", b"", "acme", 0)])  # type: ignore[arg-type]
    assert outbox.get("d", 9) is None and outbox.last_seq("d") == 3  # the failed batch left nothing


def test_life_cycle(outbox: Outbox) -> None:
    outbox.add_many([_row("d", s) for s in range(1, 6)])
    pending = outbox.pending(3)
    assert [r.seq for r in pending] == [1, 2, 3]
    keys = [r.key for r in pending]
    outbox.mark_submitted(keys, b"h" * 32, _tx(77), "acme")
    [stored] = outbox.submitted()
    assert stored.tx_hash == b"h" * 32 and stored.expiry_height == 77 and stored.raw == _tx(77)
    assert [r.seq for r in stored.rows] == [1, 2, 3] and stored.organisation == "acme"
    assert [r.seq for r in outbox.pending(10)] == [4, 5]
    outbox.settle(b"h" * 32, [keys[0]], 12, refused=[(keys[1], "chain_refused: no")], released=[keys[2]])
    assert outbox.get("d", 1).status == COMMITTED and outbox.get("d", 1).height == 12  # type: ignore[union-attr]
    assert outbox.get("d", 2).error == "chain_refused: no"  # type: ignore[union-attr]
    assert outbox.submitted() == []
    assert [r.seq for r in outbox.pending(10)] == [3, 4, 5]
    outbox.mark_submitted([("d", 3)], b"i" * 32, _tx(80))
    outbox.mark_committed([("d", 3)], b"i" * 32, 13)
    outbox.mark_refused([("d", 4)], "invalid_event: x")
    assert outbox.counts() == {PENDING: 1, SUBMITTED: 0, COMMITTED: 2, REFUSED: 2}
    assert outbox.lag_ms() >= 0 and outbox.submitted() == []
    outbox.mark_submitted([("d", 5)], b"j" * 32, _tx(90))
    outbox.release([("d", 5)], b"j" * 32, "expired")
    assert outbox.get("d", 5).status == PENDING and outbox.submitted() == []  # type: ignore[union-attr]


def test_expiry_of_refuses_other_bytes() -> None:
    assert expiry_of(_tx(5)) == 5
    with pytest.raises(ValueError):
        expiry_of(b"\x01")


def test_one_writer_thread_and_one_drain_thread(outbox: Outbox) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def drain() -> None:
        n = 0
        try:
            while not stop.is_set() or outbox.pending(1):
                rows = outbox.pending(50)
                if rows:
                    n += 1
                    outbox.mark_submitted([r.key for r in rows], n.to_bytes(32, "big"), _tx(1))
                    outbox.mark_committed([r.key for r in rows], n.to_bytes(32, "big"), n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=drain)
    thread.start()
    for batch in range(40):
        outbox.add_many([_row(f"d{batch % 4}", batch * 10 + i + 1) for i in range(10)])
    stop.set()
    thread.join(30)
    assert not errors
    assert outbox.counts()[COMMITTED] == 400 and outbox.submitted() == []
