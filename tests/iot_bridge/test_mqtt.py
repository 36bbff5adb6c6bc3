"""The MQTT transport against real Mosquitto: ack-after-durable, answers, dead letters, kill -9, broker restart, TLS+ACL."""
from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iot_bridge.metrics import BridgeMetrics
from iot_bridge.mqtt import MqttIntake, MqttSettings, connect_properties, make_client
from iot_bridge.simulator import DevicePublisher
from tests.iot_bridge.conftest import REPO, SqliteIntake, stored_in, wait_until
from tests.iot_bridge.mosquitto import PrivateBroker, DevicePKI

ORG = "org1"


def _payload(device: str, seq: int) -> bytes:
    return json.dumps({"device": device, "seq": seq}).encode()


def _clear_session(host: str, port: int, client_id: str, **tls: str) -> None:
    """End a persistent session on the broker (clean start, expiry 0) so tests leave nothing behind."""
    client = make_client(client_id, **tls)
    try:
        client.connect(host, port, clean_start=True, properties=connect_properties(0))
        client.loop_start()
        time.sleep(0.1)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


class Harness:
    """Bridges and devices of one test, with a topic prefix of its own (tests share the system broker)."""

    def __init__(self, host: str, port: int, tmp: Path) -> None:
        self.host, self.port, self.tmp = host, port, tmp
        self.prefix = "t" + uuid.uuid4().hex[:10]
        self.client_id = "bridge-" + self.prefix
        self.bridges: list[MqttIntake] = []
        self.devices: list[DevicePublisher] = []
        self.clients: list[str] = [self.client_id]

    def bridge(self, intake: Any, **kw: Any) -> MqttIntake:
        settings = MqttSettings(host=self.host, port=self.port, client_id=self.client_id, prefix=self.prefix,
                                reconnect_min_s=1, reconnect_max_s=2, **kw)
        bridge = MqttIntake(settings, intake, BridgeMetrics())
        bridge.start()
        assert bridge.wait_connected(10), bridge.last_error
        self.bridges.append(bridge)
        return bridge

    def device(self, name: str | None = None) -> DevicePublisher:
        name = name or "d" + uuid.uuid4().hex[:8]
        pub = DevicePublisher(ORG, name, self.host, self.port, prefix=self.prefix, client_id=f"{self.prefix}-{name}")
        pub.connect()
        self.devices.append(pub)
        self.clients.append(f"{self.prefix}-{name}")
        return pub

    def close(self) -> None:
        for pub in self.devices:
            pub.close()
        for bridge in self.bridges:
            bridge.stop()
        for cid in self.clients:
            _clear_session(self.host, self.port, cid)


@pytest.fixture
def harness(system_broker: tuple[str, int], tmp_path: Path) -> Iterator[Harness]:
    h = Harness(*system_broker, tmp_path)
    try:
        yield h
    finally:
        h.close()


class Listener:
    """A plain subscriber collecting (topic, payload, properties)."""

    def __init__(self, host: str, port: int, topic: str, **tls: str) -> None:
        self.messages: list[tuple[str, bytes, Any]] = []
        self.client = make_client("listen-" + uuid.uuid4().hex[:8], **tls)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (c.subscribe(topic, qos=1), ready.set())
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload), m.properties))
        self.client.connect(host, port)
        self.client.loop_start()
        assert ready.wait(5)
        time.sleep(0.1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --- acknowledgement only after durable storage ------------------------------------------------------------------


def test_ack_carries_correlation_and_status(harness: Harness) -> None:
    intake = SqliteIntake(harness.tmp / "outbox.sqlite")
    bridge = harness.bridge(intake)
    dev = harness.device()
    dev.publish(_payload(dev.device, 1), b"corr-1")
    dev.publish(_payload(dev.device, 1), b"corr-1-again")  # a device retry: same seq
    report = dev.wait_answers([b"corr-1", b"corr-1-again"], 10)
    assert report.missing == 0
    assert dev.answers[b"corr-1"] == {"status": "accepted", "reason": "", "detail": "", "seq": 1,
                                      "correlation": b"corr-1".hex()}
    assert dev.answers[b"corr-1-again"]["status"] == "duplicate"
    assert intake.stored() == {(dev.device, 1)}
    assert wait_until(lambda: bridge.acked == 2, 5)
    text = bridge.metrics.render().decode()
    assert "iot_bridge_accepted_total 1.0" in text and "iot_bridge_duplicates_total 1.0" in text


def test_response_topic_property_is_honoured_within_the_device_subtree(harness: Harness) -> None:
    harness.bridge(SqliteIntake(harness.tmp / "outbox.sqlite"))
    dev = harness.device()
    own = f"{harness.prefix}/{ORG}/{dev.device}/replies"
    listener = Listener(harness.host, harness.port, own)
    try:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = own
        props.CorrelationData = b"\x00\x01binary"
        dev.client.publish(dev.topic, _payload(dev.device, 7), qos=1, properties=props)
        assert wait_until(lambda: listener.messages, 10)
        topic, body, mprops = listener.messages[0]
        assert topic == own
        assert json.loads(body)["correlation"] == b"\x00\x01binary".hex()
        assert mprops.CorrelationData == b"\x00\x01binary"
    finally:
        listener.close()


def test_nothing_is_acked_until_stored_and_unacked_messages_come_back(harness: Harness) -> None:
    """accept_many keeps failing: the bridge retries, never acks; a new bridge on the same session gets it all."""
    failing = SqliteIntake(harness.tmp / "first.sqlite")
    failing.fail_next = 10**6
    first = harness.bridge(failing)
    dev = harness.device()
    for seq in range(1, 6):
        dev.publish(_payload(dev.device, seq), f"c{seq}".encode())
    assert wait_until(lambda: first.metrics.intake_errors._value.get() >= 2, 10)
    assert first.acked == 0 and failing.stored() == set()
    assert dev.answers == {}  # no answer either: nothing is stored
    first.stop()
    harness.bridges.remove(first)

    intake = SqliteIntake(harness.tmp / "second.sqlite")
    harness.bridge(intake)
    assert wait_until(lambda: len(intake.stored()) == 5, 15), intake.stored()
    assert dev.wait_answers([f"c{s}".encode() for s in range(1, 6)], 10).statuses["accepted"] == 5


def test_transient_intake_failure_is_retried_in_process(harness: Harness) -> None:
    intake = SqliteIntake(harness.tmp / "outbox.sqlite")
    intake.fail_next = 2
    bridge = harness.bridge(intake)
    dev = harness.device()
    dev.publish(_payload(dev.device, 1), b"x")
    assert dev.wait_answers([b"x"], 10).statuses["accepted"] == 1
    assert bridge.metrics.intake_errors._value.get() == 2
    assert wait_until(lambda: bridge.acked == 1, 5)  # the answer goes out just before the PUBACK


def test_group_commit_batches_messages(harness: Harness) -> None:
    intake = SqliteIntake(harness.tmp / "outbox.sqlite")
    harness.bridge(intake, batch_window_ms=20)
    dev = harness.device()
    items = [(f"c{s}".encode(), _payload(dev.device, s)) for s in range(1, 301)]
    dev.publish_many(items)
    report = dev.wait_answers([c for c, _ in items], 20)
    assert report.statuses["accepted"] == 300
    assert max(intake.calls) > 1, intake.calls  # several messages per accept_many call
    assert len(intake.calls) < 300


# --- dead letters ------------------------------------------------------------------------------------------------


def test_refused_messages_go_to_the_dead_letter_topics(harness: Harness) -> None:
    intake = SqliteIntake(harness.tmp / "outbox.sqlite")
    harness.bridge(intake)
    dev = harness.device()
    mine = Listener(harness.host, harness.port, f"{harness.prefix}/{ORG}/{dev.device}/dead-letter")
    wide = Listener(harness.host, harness.port, "bridge/dead-letter/#")
    try:
        dev.publish(b"\xa1not json", b"bad")
        dev.publish(_payload("someone-else", 3), b"wrong")
        report = dev.wait_answers([b"bad", b"wrong"], 10)
        assert dict(report.refused) == {"malformed": 1, "wrong_topic": 1}
        assert wait_until(lambda: len(mine.messages) == 2, 5)
        letters = {json.loads(p)["reason"]: json.loads(p) for _, p, _ in mine.messages}
        assert set(letters) == {"malformed", "wrong_topic"}
        assert base64.b64decode(letters["malformed"]["payload_b64"]) == b"\xa1not json"
        assert letters["malformed"]["topic"] == dev.topic
        assert letters["wrong_topic"]["seq"] == 3
        assert letters["wrong_topic"]["received_at"].endswith("Z")
        assert wait_until(lambda: {t for t, p, _ in wide.messages if harness.prefix in json.loads(p).get("topic", "")}
                          >= {"bridge/dead-letter/malformed", "bridge/dead-letter/wrong_topic"}, 5)
        assert intake.stored() == set()
    finally:
        mine.close()
        wide.close()


# --- crash and restart -------------------------------------------------------------------------------------------


def _spawn_bridge(host: str, port: int, client_id: str, db: Path, prefix: str) -> subprocess.Popen[str]:
    code = ("import sys; from tests.iot_bridge.conftest import run_test_bridge; "
            "run_test_bridge(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])")
    proc = subprocess.Popen([sys.executable, "-c", code, host, str(port), client_id, str(db), prefix],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


def test_bridge_killed_mid_stream_loses_nothing(harness: Harness) -> None:
    """kill -9 while devices publish; messages published while it is down wait in the persistent session."""
    db = harness.tmp / "outbox.sqlite"
    SqliteIntake(db).close()
    proc = _spawn_bridge(harness.host, harness.port, harness.client_id, db, harness.prefix)
    try:
        dev = harness.device()
        total = 600  # below Mosquitto's default max_queued_messages (1000) of the system broker
        sent = threading.Event()

        def publish() -> None:
            dev.publish_many([(f"c{s}".encode(), _payload(dev.device, s)) for s in range(1, total + 1)], rate=1500)
            sent.set()

        t = threading.Thread(target=publish)
        t.start()
        assert wait_until(lambda: len(stored_in(db)) >= 100, 10)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        killed_at = len(stored_in(db))
        t.join(10)
        assert sent.is_set()
        assert killed_at < total, "the stream ended before the kill: raise the count"
        proc = _spawn_bridge(harness.host, harness.port, harness.client_id, db, harness.prefix)
        assert wait_until(lambda: len(stored_in(db)) == total, 20), (killed_at, len(stored_in(db)))
        assert stored_in(db) == {(dev.device, s) for s in range(1, total + 1)}
        # Answers are best effort: one the killed bridge had not sent yet is never sent. The device protocol covers
        # that: a device re-sends what was not answered (same seq) and gets "duplicate", never a second copy.
        wanted = [f"c{s}".encode() for s in range(1, total + 1)]
        dev.wait_answers(wanted, 5)
        unanswered = [c for c in wanted if c not in dev.answers]
        dev.publish_many([(c, _payload(dev.device, int(c[1:]))) for c in unanswered])
        report = dev.wait_answers(wanted, 10)
        assert report.missing == 0
        assert all(dev.answers[c]["status"] == "duplicate" for c in unanswered)
        assert stored_in(db) == {(dev.device, s) for s in range(1, total + 1)}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_private_broker_restart_mid_stream_loses_nothing(plain_broker: PrivateBroker, tmp_path: Path) -> None:
    h = Harness(plain_broker.host, plain_broker.port, tmp_path)
    try:
        intake = SqliteIntake(tmp_path / "outbox.sqlite")
        h.bridge(intake)
        dev = h.device()
        total = 800
        done = threading.Event()
        threading.Thread(target=lambda: (dev.publish_many(
            [(f"c{s}".encode(), _payload(dev.device, s)) for s in range(1, total + 1)], rate=1000), done.set())).start()
        assert wait_until(lambda: len(intake.stored()) >= 150, 10)
        plain_broker.restart()
        assert done.wait(30)
        assert wait_until(lambda: len(intake.stored()) == total, 30), len(intake.stored())
        assert intake.stored() == {(dev.device, s) for s in range(1, total + 1)}
        assert h.bridges[0].metrics.broker_connects._value.get() >= 2
    finally:
        h.close()


# --- TLS, client certificates and the ACL --------------------------------------------------------------------------


def _tls(pki: DevicePKI, ident: Any) -> dict[str, str]:
    return {"tls_ca": str(pki.ca_bundle), "tls_cert": str(ident.cert), "tls_key": str(ident.key_file)}


def test_tls_acl_device_publishes_only_under_its_own_topic(tls_broker: PrivateBroker, test_pki: DevicePKI,
                                                          tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "outbox.sqlite")
    bridge = MqttIntake(MqttSettings(host=tls_broker.host, port=tls_broker.port, client_id=test_pki.bridge.name,
                                     **_tls(test_pki, test_pki.bridge)), intake)
    bridge.start()
    own, other = test_pki.devices
    pub = DevicePublisher(ORG, own.address, tls_broker.host, tls_broker.port, client_id=own.address,
                          **_tls(test_pki, own))
    try:
        assert bridge.wait_connected(10), bridge.last_error + tls_broker.log_text()
        pub.connect()
        pub.publish(_payload(own.address, 1), b"own")
        assert pub.wait_answers([b"own"], 10).statuses["accepted"] == 1, tls_broker.log_text()

        # Publishing on another device's topic: Mosquitto 2.0.11 answers the QoS 1 PUBLISH with a PUBACK carrying
        # reason code 135 (Not authorized) and drops the message.
        codes: list[int] = []
        pub.client.on_publish = lambda _c, _u, _mid, rc, _p: codes.append(rc.value)
        info = pub.publish(_payload(other.address, 1), b"foreign", topic=f"trace/{ORG}/{other.address}/events")
        info.wait_for_publish(5)
        assert wait_until(lambda: codes, 5)
        assert codes == [135], codes
        time.sleep(0.3)
        assert intake.stored() == {(own.address, 1)}
        assert b"foreign" not in pub.answers
    finally:
        pub.close()
        bridge.stop()


def test_tls_client_without_certificate_cannot_connect(tls_broker: PrivateBroker, test_pki: DevicePKI) -> None:
    client = make_client("nocert", tls_ca=str(test_pki.ca_bundle))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        client.connect(tls_broker.host, tls_broker.port)
        # With TLS 1.3 the server's refusal of a missing certificate may arrive only with the first read.
        rc = client.loop(timeout=2)
        if rc != 0:
            raise ConnectionError(f"loop rc={rc}")
        for _ in range(20):
            rc = client.loop(timeout=0.1)
            if rc != 0:
                raise ConnectionError(f"loop rc={rc}")
        assert not client.is_connected()
        raise ConnectionError("not connected")


def test_tls_plain_client_refused_by_a_tls_only_listener(tls_broker: PrivateBroker) -> None:
    client = make_client("plain")
    connected: list[bool] = []
    client.on_connect = lambda *_: connected.append(True)
    try:
        client.connect(tls_broker.host, tls_broker.port)
        for _ in range(20):
            if client.loop(timeout=0.1) != 0:
                break
    except OSError:
        pass
    assert connected == []
