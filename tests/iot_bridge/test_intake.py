"""Intake: every refusal reason, duplicates vs replays, gaps, group commit, durability under SIGKILL, throughput."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import cbor2
import pytest

from chain.crypto import Algorithm
from iot_bridge.devices import FROZEN, REVOKED
from iot_bridge.errors import (
    BAD_SIGNATURE,
    INVALID_EVENT,
    MALFORMED,
    REPLAY,
    REVOKED_DEVICE,
    SUSPENDED_DEVICE,
    UNKNOWN_DEVICE,
    WRONG_TOPIC,
)
from iot_bridge.intake import ACCEPTED, DUPLICATE, REFUSED, Intake
from iot_bridge.message import DeviceMessage, Reading, sign_message
from iot_bridge.outbox import Outbox
from tests.iot_bridge.core_fixtures import OTHER_ORG, TIME, Fleet

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet() -> Fleet:
    fleet = Fleet()
    fleet.add("good")
    fleet.add("good-sm2", algorithm=Algorithm.SM2)
    fleet.add("frozen", state=FROZEN)
    fleet.add("revoked", state=REVOKED)
    fleet.add("a-user", roles=("user", "MEMBER"))
    fleet.add("other-org", org=OTHER_ORG)
    return fleet


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


@pytest.fixture
def intake(outbox: Outbox, fleet: Fleet) -> Intake:
    return Intake(outbox, fleet.registry())


def _addr(fleet: Fleet, label: str) -> str:
    return fleet.labels[label]


def test_accepts_and_stores_durably(intake: Intake, outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    topic, raw = fleet.item(good, 1)
    verdict = intake.accept(topic, raw)
    assert (verdict.status, verdict.reason, verdict.device, verdict.seq, verdict.gap) == (ACCEPTED, "", good, 1, 0)
    row = outbox.get(good, 1)
    assert row is not None and row.raw == raw and row.topic == topic and row.organisation == "acme"
    assert row.status == "pending" and row.public_key == fleet.devices[good].public_key.encode()
    sm2 = _addr(fleet, "good-sm2")
    assert intake.accept(*fleet.item(sm2, 1)).status == ACCEPTED


def test_every_refusal_reason(intake: Intake, outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    stranger = Fleet()
    unknown = stranger.add("stranger")
    forged = sign_message(stranger.keys[unknown], DeviceMessage(good, 5, TIME, Reading("temperature", "1", "CEL")))
    body = cbor2.loads(fleet.reading(good, 6)).value
    cases = [
        (("trace/acme/events", fleet.reading(good, 1)), WRONG_TOPIC, "topic"),
        ((f"other/acme/{good}/events", fleet.reading(good, 1)), WRONG_TOPIC, "topic"),
        ((f"trace/{OTHER_ORG}/{good}/events", fleet.reading(good, 1)), WRONG_TOPIC, "topic"),
        ((fleet.topic(good).replace(good, _addr(fleet, "frozen")), fleet.reading(good, 1)), WRONG_TOPIC, "topic"),
        ((fleet.topic(good), b"not cose"), MALFORMED, "message"),
        ((fleet.topic(good), cbor2.dumps(cbor2.CBORTag(18, [body[0], {}, cbor2.dumps({"v": 1}), body[3]]))),
         MALFORMED, "payload.device"),
        ((f"trace/acme/{unknown}/events", stranger.reading(unknown, 1)), UNKNOWN_DEVICE, "payload.device"),
        (fleet.item(_addr(fleet, "frozen"), 1), SUSPENDED_DEVICE, "payload.device"),
        (fleet.item(_addr(fleet, "revoked"), 1), REVOKED_DEVICE, "payload.device"),
        (fleet.item(_addr(fleet, "a-user"), 1), UNKNOWN_DEVICE, "payload.device"),
        ((fleet.topic(good), forged), BAD_SIGNATURE, "signature"),
    ]
    items = [c[0] for c in cases if c[1] is not None]
    verdicts = intake.accept_many(items)
    expected = [(c[1], c[2]) for c in cases if c[1] is not None]
    assert [(v.reason, v.field) for v in verdicts] == expected
    assert all(v.status == REFUSED and v.detail for v in verdicts)
    assert outbox.counts()["pending"] == 0


def test_invalid_event_cannot_even_be_signed_and_is_refused(intake: Intake, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    ok = sign_message(fleet.keys[good], DeviceMessage(good, 1, TIME, event={"type": "ObjectEvent",
                                                                           "eventTime": "2026-11-25T08:00:05Z"}))
    body = cbor2.loads(ok).value
    payload = cbor2.loads(body[2])
    payload["event"]["type"] = "SensorEvent"
    from chain.codec import encode
    bad = b"\xd2" + encode([body[0], {}, encode(payload), body[3]])
    verdict = intake.accept(fleet.topic(good), bad)
    assert (verdict.status, verdict.reason, verdict.field) == (REFUSED, INVALID_EVENT, "payload.event.type")


def test_duplicate_replay_and_gap(intake: Intake, outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    first = fleet.item(good, 1)
    assert intake.accept(*first).status == ACCEPTED
    assert intake.accept(*first).status == DUPLICATE  # a redelivery: the same bytes
    other_one = fleet.item(good, 1, value="9.99")
    assert (intake.accept(*other_one).reason, intake.accept(*other_one).field) == (REPLAY, "payload.seq")
    gap = intake.accept(*fleet.item(good, 5))
    assert (gap.status, gap.gap) == (ACCEPTED, 3)
    late = intake.accept(*fleet.item(good, 3))  # below the highest accepted, never stored: delivered late
    assert (late.status, late.gap) == (ACCEPTED, 0) and "late" in late.detail
    assert intake.accept(*fleet.item(good, 3, value="1.5")).reason == REPLAY  # seq 3 is taken now
    assert sorted(r.seq for r in outbox.rows()) == [1, 3, 5] and outbox.last_seq(good) == 5


def test_same_key_twice_in_one_batch(intake: Intake, outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    a = fleet.item(good, 1)
    b = fleet.item(good, 1, value="2.5")
    c = fleet.item(good, 2)
    verdicts = intake.accept_many([a, a, b, c, c])
    assert [(v.status, v.reason) for v in verdicts] == [(ACCEPTED, ""), (DUPLICATE, ""), (REFUSED, REPLAY),
                                                         (ACCEPTED, ""), (DUPLICATE, "")]
    assert outbox.counts()["pending"] == 2


def test_redelivery_after_freeze_is_still_a_duplicate(outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    item = fleet.item(good, 1)
    assert Intake(outbox, fleet.registry()).accept(*item).status == ACCEPTED
    from dataclasses import replace
    fleet.devices[good] = replace(fleet.devices[good], state=FROZEN)
    intake = Intake(outbox, fleet.registry())  # a restarted bridge, the device frozen meanwhile
    assert intake.accept(*item).status == DUPLICATE
    assert intake.accept(*fleet.item(good, 2)).reason == SUSPENDED_DEVICE


def test_group_commit_is_one_transaction(intake: Intake, outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    statements: list[str] = []
    outbox._db().set_trace_callback(statements.append)
    verdicts = intake.accept_many([fleet.item(good, s) for s in range(1, 101)])
    outbox._db().set_trace_callback(None)
    assert all(v.status == ACCEPTED for v in verdicts)
    assert sum(1 for s in statements if s.strip().upper() == "COMMIT") == 1
    assert outbox.counts()["pending"] == 100


def test_a_restarted_intake_knows_the_highest_seq(outbox: Outbox, fleet: Fleet) -> None:
    good = _addr(fleet, "good")
    Intake(outbox, fleet.registry()).accept_many([fleet.item(good, s) for s in (1, 2, 3)])
    again = Intake(outbox, fleet.registry())
    assert again.accept(*fleet.item(good, 2, value="0")).reason == REPLAY
    assert again.accept(*fleet.item(good, 4)).status == ACCEPTED


CHILD = textwrap.dedent("""
    import sys
    from iot_bridge.intake import Intake
    from iot_bridge.outbox import Outbox
    from tests.iot_bridge.core_fixtures import Fleet
    fleet = Fleet()
    device = fleet.add("durable")
    intake = Intake(Outbox(sys.argv[1]), fleet.registry())
    seq = 0
    while True:
        batch = [fleet.item(device, seq + i + 1) for i in range(25)]
        verdicts = intake.accept_many(batch)
        assert all(v.status == "accepted" for v in verdicts), verdicts
        seq += len(batch)
        print(device, seq, flush=True)  # after accept_many returned: the MQTT side would ack now
""")


def test_every_returned_batch_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env,
                             cwd=REPO)
    acked = 0
    device = ""
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    while acked < 400 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        device, seq = line.split()
        acked = int(seq)
    child.send_signal(signal.SIGKILL)  # mid-stream: the child is inside another accept_many
    child.wait(10)
    assert acked >= 400, "the child did not get far enough"
    outbox = Outbox(path)
    try:
        stored = {r.seq for r in outbox.rows()}
        assert set(range(1, acked + 1)) <= stored
        assert outbox.last_seq(device) >= acked
    finally:
        outbox.close()


def test_throughput(tmp_path: Path, fleet: Fleet) -> None:
    """Measure accepted messages per second on one core (P-256, batches of 500); assert only a low floor."""
    devices = [fleet.add(f"perf-{i}") for i in range(10)]
    items = [fleet.item(devices[i % 10], i // 10 + 1) for i in range(10_000)]
    outbox = Outbox(tmp_path / "perf.db")
    intake = Intake(outbox, fleet.registry())
    started = time.perf_counter()
    for start in range(0, len(items), 500):
        assert all(v.status == ACCEPTED for v in intake.accept_many(items[start:start + 500]))
    rate = len(items) / (time.perf_counter() - started)
    outbox.close()
    print(f"\nintake: {rate:,.0f} messages/s accepted (ES256, batches of 500, one core, fsync per batch)")
    assert rate > 500
