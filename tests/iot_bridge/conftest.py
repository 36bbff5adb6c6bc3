"""Fixtures of the IoT bridge tests: the system Mosquitto (1883), private brokers (TLS + ACL, plain + persistence),
a test PKI, and a transport-level intake that stores to a real SQLite file (WAL, synchronous=FULL)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest

from tests.iot_bridge.mosquitto import (
    SYSTEM_HOST,
    SYSTEM_PORT,
    PrivateBroker,
    DevicePKI,
    ensure_system_broker,
    issue_test_pki,
)

REPO = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the MQTT tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def system_broker() -> tuple[str, int]:
    """The machine's Mosquitto on 127.0.0.1:1883 (started if it is down)."""
    problem = ensure_system_broker()
    if problem:
        _unavailable(problem)
    return SYSTEM_HOST, SYSTEM_PORT


@pytest.fixture
def test_pki(tmp_path: Path) -> DevicePKI:
    return issue_test_pki(tmp_path / "pki", devices=2)


@pytest.fixture
def tls_broker(tmp_path: Path, test_pki: DevicePKI) -> Iterator[PrivateBroker]:
    """A private Mosquitto with a TLS listener: client certificates required, CN = username, per-device ACL."""
    broker = PrivateBroker(tmp_path / "tls-broker", tls=test_pki)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@pytest.fixture
def plain_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A private plain Mosquitto with persistence, for stop/restart tests."""
    broker = PrivateBroker(tmp_path / "plain-broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@dataclass
class SimpleVerdict:
    status: str
    reason: str
    detail: str
    device: str
    seq: int | None
    gap: int = 0


class SqliteIntake:
    """Transport-level stand-in for iot_bridge.intake.Intake: payload JSON {"device", "seq"}, stored in SQLite.

    Durable before it returns (one transaction per call, WAL, synchronous=FULL); (device, seq) deduplicates;
    refuses non-JSON (malformed) and a device that is not the topic's (wrong_topic). fail_next makes calls raise.
    """

    def __init__(self, path: Path | str, prefix: str = "trace") -> None:
        self.path = str(path)
        self.prefix = prefix
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS events (device TEXT, seq INTEGER, topic TEXT, payload BLOB, "
                        "PRIMARY KEY (device, seq))")
        self.fail_next = 0
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def accept_many(self, items: Sequence[tuple[str, bytes]]) -> list[SimpleVerdict]:
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise sqlite3.OperationalError("disk I/O error (injected)")
            self.calls.append(len(items))
            verdicts: list[SimpleVerdict] = []
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for topic, payload in items:
                    try:
                        body = json.loads(payload)
                        device, seq = str(body["device"]), int(body["seq"])
                    except (ValueError, KeyError, TypeError):
                        verdicts.append(SimpleVerdict("refused", "malformed", "not a JSON {device, seq}", "", None))
                        continue
                    parts = topic.split("/")
                    if len(parts) != 4 or parts[2] != device:
                        verdicts.append(SimpleVerdict("refused", "wrong_topic", f"{device} published on {topic}", device, seq))
                        continue
                    cur = self.db.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", (device, seq, topic, payload))
                    verdicts.append(SimpleVerdict("accepted" if cur.rowcount else "duplicate", "", "", device, seq))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return verdicts

    def stored(self) -> set[tuple[str, int]]:
        with self.lock:
            return {(d, s) for d, s in self.db.execute("SELECT device, seq FROM events")}

    def close(self) -> None:
        self.db.close()


def stored_in(path: Path | str) -> set[tuple[str, int]]:
    """(device, seq) rows of a SqliteIntake file, read by a fresh connection."""
    db = sqlite3.connect(str(path))
    try:
        return {(d, s) for d, s in db.execute("SELECT device, seq FROM events")}
    finally:
        db.close()


def run_test_bridge(host: str, port: int, client_id: str, db_path: str, prefix: str = "trace") -> None:
    """Body of the bridge subprocess of the kill -9 test: MqttIntake over a SqliteIntake until SIGTERM."""
    from iot_bridge.mqtt import MqttIntake, MqttSettings

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    intake = SqliteIntake(db_path, prefix)
    bridge = MqttIntake(MqttSettings(host=host, port=port, client_id=client_id, prefix=prefix,
                                     reconnect_min_s=1, reconnect_max_s=2), intake)
    bridge.start()
    bridge.wait_connected(10)
    print("ready", flush=True)
    while not stop.wait(0.1):
        pass
    bridge.stop()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@contextmanager
def running_bridge(cfg: Any, registry: Any, broker: tuple[str, int]) -> Iterator[Any]:
    """A BridgeService with no drainer over a given device registry, connected; its broker session cleared after."""
    from iot_bridge.service import BridgeService
    from tests.iot_bridge.test_mqtt import _clear_session

    svc = BridgeService(cfg, env={}, devices=registry, drainer=None)
    svc.start()
    try:
        assert svc.wait_connected(10), svc.error
        yield svc
    finally:
        svc.stop()
        _clear_session(*broker, cfg.broker.client_id)
