"""The benchmark's lean MQTT 5 publisher (bench/iot_bridge.py): its hand-made packets are what paho and Mosquitto
expect (QoS 1 with ResponseTopic and CorrelationData, PUBACKs counted, QoS 0 answers parsed)."""
from __future__ import annotations

import json
import threading
import time
import uuid

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from bench.iot_bridge import _Conn, _varint
from iot_bridge.mqtt import make_client


def test_varint_is_the_mqtt_remaining_length() -> None:
    assert [_varint(n) for n in (0, 127, 128, 16_383, 16_384)] == [
        b"\x00", b"\x7f", b"\x80\x01", b"\xff\x7f", b"\x80\x80\x01"]


def test_raw_publisher_talks_mqtt5_to_mosquitto(system_broker: tuple[str, int]) -> None:
    host, port = system_broker
    device = f"bench{uuid.uuid4().hex[:12]}"
    events, acks = f"trace/acme/{device}/events", f"trace/acme/{device}/acks"
    got: list[tuple[bytes, str, bytes]] = []
    done = threading.Event()
    sub = make_client(f"bench-test-{device}")

    def on_message(_c: object, _u: object, message: object) -> None:
        props = message.properties  # type: ignore[attr-defined]
        got.append((bytes(message.payload), props.ResponseTopic, bytes(props.CorrelationData)))  # type: ignore[attr-defined]
        if len(got) == 3:
            done.set()

    subscribed = threading.Event()
    sub.on_message = on_message
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.connect(host, port)
    sub.loop_start()
    try:
        sub.subscribe(events, options=SubscribeOptions(qos=1))
        assert subscribed.wait(10)
        payloads = [(seq, bytes([seq]) * 300) for seq in (1, 2, 3)]  # 300 bytes: a two-byte remaining length
        conn = _Conn(port, f"bench-{device}", events, acks, payloads)
        conn.sock.sendall(b"".join(conn.packets))
        conn.sent = 3
        deadline = time.monotonic() + 10
        while conn.pubacks < 3:
            assert time.monotonic() < deadline, conn.pubacks
            conn.handle(conn.read())
        assert conn.bad_pubacks == 0
        assert done.wait(10)
        assert got == [(payload, acks, f"{seq}.1".encode()) for seq, payload in payloads]
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = b"1.1"
        for status in ("accepted", "duplicate"):
            sub.publish(acks, json.dumps({"status": status, "seq": 1}), qos=0, properties=props)
        while sum(conn.answers.values()) < 2:
            assert time.monotonic() < deadline, conn.answers
            conn.handle(conn.read())
        assert dict(conn.answers) == {"accepted": 1, "duplicate": 1}
        conn.sock.close()
    finally:
        sub.disconnect()
        sub.loop_stop()
