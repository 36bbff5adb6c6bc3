"""The MQTT side of the bridge: a persistent MQTT 5 session whose QoS 1 messages are acknowledged only once stored.

Durability rule: paho runs with ``manual_ack=True``; on_message only hands the message to a
writer thread (the network loop must keep reading PINGRESPs and PUBACKs). The writer
collects up to ``batch_max`` messages for ``batch_window_ms`` and calls
``intake.accept_many`` once (one group commit); only after it returned does it answer the
device, dead-letter what was refused, and send the PUBACK to the broker. If accept_many
raises, nothing is acknowledged and the batch is retried with backoff; if the bridge dies,
the broker redelivers every unacknowledged message to the same client id on reconnect
(clean_start=False + SessionExpiryInterval), and messages published meanwhile wait in the
session. Redeliveries are recognised by the intake (device + sequence) as duplicates.

A PUBACK is sent only on the connection that delivered the message: packet identifiers
belong to a connection, and after a reconnect the broker resends the message anyway.
"""
from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Protocol, Sequence

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from iot_bridge.metrics import BridgeMetrics
from iot_bridge.topics import (
    DEFAULT_PREFIX,
    DeviceTopic,
    TopicError,
    ack_payload,
    bridge_dead_letter_topic,
    dead_letter_payload,
    events_subscription,
    parse_topic,
    response_topic_for,
)

log = logging.getLogger(__name__)


class VerdictLike(Protocol):
    status: str
    reason: str
    detail: str
    device: str
    seq: int | None
    gap: int


class IntakeAPI(Protocol):
    """What the MQTT side needs from iot_bridge.intake.Intake."""

    def accept_many(self, items: Sequence[tuple[str, bytes]]) -> Sequence[VerdictLike]:
        """Verify and durably store items (topic, payload); one verdict each, in order. Raises: nothing stored."""
        ...


@dataclass(frozen=True)
class MqttSettings:
    """How to reach the broker; see iot_bridge.config.BrokerConfig for the meaning of each field."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "iot-bridge"
    session_expiry_s: int = 86_400
    keepalive_s: int = 30
    receive_maximum: int = 1000
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    username: str = ""
    password: str = ""
    prefix: str = DEFAULT_PREFIX
    batch_max: int = 500
    batch_window_ms: int = 3
    answer_qos: int = 0

    @classmethod
    def from_config(cls, cfg: Any, env: Mapping[str, str] | None = None) -> MqttSettings:
        """Settings from a BridgeConfig (the broker password is read from the env variable it names)."""
        import os

        env = os.environ if env is None else env
        b = cfg.broker
        return cls(
            host=b.host, port=b.port, client_id=b.client_id, session_expiry_s=b.session_expiry_s,
            keepalive_s=b.keepalive_s, receive_maximum=b.receive_maximum, reconnect_min_s=b.reconnect_min_s,
            reconnect_max_s=b.reconnect_max_s, tls_ca=b.tls_ca, tls_cert=b.tls_cert, tls_key=b.tls_key,
            username=b.username, password=env.get(b.password_env, "") if b.password_env else "",
            prefix=cfg.topics.prefix, batch_max=cfg.batch.intake_max, batch_window_ms=cfg.batch.intake_window_ms,
            answer_qos=b.answer_qos,
        )


def make_client(
    client_id: str,
    *,
    tls_ca: str = "",
    tls_cert: str = "",
    tls_key: str = "",
    username: str = "",
    password: str = "",
    manual_ack: bool = False,
) -> paho.Client:
    """A paho MQTT 5 client (callback API v2), with TLS when tls_ca is given and a client certificate if cert/key are."""
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
        manual_ack=manual_ack,
    )
    if tls_ca:
        client.tls_set(
            ca_certs=tls_ca,
            certfile=tls_cert or None,
            keyfile=tls_key or None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if username:
        client.username_pw_set(username, password or None)
    return client


def connect_properties(session_expiry_s: int, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


@dataclass
class Received:
    """One message from the broker, waiting for the writer thread."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    response_topic: str | None
    correlation: bytes | None
    generation: int
    received_wall: float  # time.time() on arrival (formatted only for a dead letter)
    received_mono: float

    @property
    def received_at(self) -> str:
        """Arrival time, ISO 8601 UTC with milliseconds."""
        return _utc_text(self.received_wall)


def _utc_text(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> str:
    return _utc_text(time.time())


class MqttIntake:
    """Subscribes to every device's events topic and feeds an intake, acknowledging only stored messages."""

    def __init__(self, settings: MqttSettings, intake: IntakeAPI, metrics: BridgeMetrics | None = None) -> None:
        self.settings = settings
        self.intake = intake
        self.metrics = metrics or BridgeMetrics()
        self.client = make_client(
            settings.client_id, tls_ca=settings.tls_ca, tls_cert=settings.tls_cert, tls_key=settings.tls_key,
            username=settings.username, password=settings.password, manual_ack=True,
        )
        self.client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        self.client.max_queued_messages_set(0)  # answers queue in memory while the broker is away
        # Answers go out at answer_qos (0 by default: half the packets, and QoS 0 packets are queued in order with the
        # PUBACK that follows). At QoS 1 paho holds back publishes beyond max_inflight while PUBACKs go straight out,
        # so a small window (paho's default is 20) would let acknowledgements overtake the answers they follow.
        self.client.max_inflight_messages_set(max(settings.receive_maximum, 100))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        # paho's thread appends, the writer pops: a deque (atomic append/popleft) and an event to wake the writer
        # cost less per message than queue.Queue's condition variable.
        self._queue: deque[Received] = deque()
        self._arrived = threading.Event()
        self._answer_props = Properties(PacketTypes.PUBLISH)  # the writer thread's, for QoS 0 answers
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self.session_present: bool | None = None
        self.last_error: str = ""
        self.acked = 0
        self.unacked_stale = 0

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start the writer thread."""
        s = self.settings
        self._stop.clear()
        self._writer = threading.Thread(target=self._write_loop, name="mqtt-intake-writer", daemon=True)
        self._writer.start()
        self.client.connect_async(
            s.host, s.port, keepalive=s.keepalive_s, clean_start=False,
            properties=connect_properties(s.session_expiry_s, s.receive_maximum),
        )
        self.client.loop_start()

    def stop(self, timeout: float = 5.0) -> None:
        """Store and acknowledge what is already received, then disconnect (the session stays on the broker)."""
        self._stop.set()
        if self._writer is not None:
            self._writer.join(timeout)
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        self._connected.clear()
        self.metrics.connected.set(0)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """True once subscribed on a live connection."""
        return self._connected.wait(timeout)

    def backlog(self) -> int:
        """Messages received but not yet stored."""
        return len(self._queue)

    # --- paho callbacks (network thread: keep them short) -------------------------------------------------------

    def _on_connect(self, client: paho.Client, _userdata: Any, flags: Any, reason_code: Any, _props: Any) -> None:
        if reason_code.is_failure:
            self.last_error = f"connect refused: {reason_code}"
            log.warning("event=mqtt_connect_refused reason=%s", reason_code)
            return
        with self._lock:
            self._generation += 1
        self.session_present = bool(getattr(flags, "session_present", False))
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe(events_subscription(self.settings.prefix), options=options)
        self.metrics.broker_connects.inc()
        self.metrics.connected.set(1)
        self.last_error = ""
        self._connected.set()
        log.info("event=mqtt_connected host=%s port=%s client_id=%s session_present=%s",
                 self.settings.host, self.settings.port, self.settings.client_id, self.session_present)

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        with self._lock:
            self._generation += 1
        self._connected.clear()
        self.metrics.connected.set(0)
        if not self._stop.is_set():
            self.last_error = f"disconnected: {reason_code}"
            log.warning("event=mqtt_disconnected reason=%s", reason_code)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        props = getattr(message, "properties", None)
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        self._queue.append(Received(
            topic=message.topic, payload=bytes(message.payload), mid=message.mid, qos=message.qos,
            response_topic=response, correlation=bytes(correlation) if correlation is not None else None,
            generation=self._generation, received_wall=time.time(), received_mono=time.monotonic(),
        ))
        if not self._arrived.is_set():
            self._arrived.set()

    # --- the writer thread ------------------------------------------------------------------------------------

    def _collect(self) -> list[Received]:
        """Up to batch_max received messages: wait up to 50 ms for the first, then batch_window_ms for more."""
        q = self._queue
        if not q:
            self._arrived.wait(0.05)
            self._arrived.clear()
            if not q:
                return []
        deadline = time.monotonic() + self.settings.batch_window_ms / 1000.0
        limit = self.settings.batch_max
        while len(q) < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            if len(q) >= limit or not self._arrived.wait(remaining):
                break
        batch = []
        while q and len(batch) < limit:
            batch.append(q.popleft())
        self.metrics.received.inc(len(batch))
        return batch

    def _write_loop(self) -> None:
        backoff = 0.05
        pending: list[Received] = []
        while True:
            if not pending:
                if self._stop.is_set() and not self._queue:
                    return
                pending = self._collect()
                if not pending:
                    continue
            try:
                verdicts = self.intake.accept_many([(r.topic, r.payload) for r in pending])
                if len(verdicts) != len(pending):
                    raise RuntimeError(f"intake returned {len(verdicts)} verdicts for {len(pending)} messages")
            except Exception as exc:  # noqa: BLE001 - nothing was stored: keep the batch, do not ack, retry
                self.metrics.intake_errors.inc()
                self.last_error = f"intake failed: {exc}"
                log.error("event=intake_failed messages=%d error=%r retry_in_s=%.2f", len(pending), exc, backoff)
                if self._stop.wait(backoff):
                    return  # unacknowledged: the broker redelivers them to the next session
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.05
            self.metrics.batch_size.observe(len(pending))
            for item, verdict in zip(pending, verdicts):
                self._answer(item, verdict)
            pending = []

    def dead_letter(self, reason: str, detail: str, topic: str, payload: bytes, device: str, seq: int | None,
                    received_at: str) -> None:
        """Publish a refusal on the device's dead-letter topic (if topic is a device topic) and the bridge-wide one."""
        letter = dead_letter_payload(reason, detail, topic, payload, device, seq, received_at)
        try:
            self.client.publish(parse_topic(topic, self.settings.prefix).dead_letter, letter, qos=1)
        except TopicError:
            pass
        self.client.publish(bridge_dead_letter_topic(reason), letter, qos=1)
        log.info("event=refused reason=%s device=%s seq=%s topic=%s detail=%r", reason, device, seq, topic, detail)

    def _answer(self, item: Received, verdict: VerdictLike) -> None:
        """Answer the device, dead-letter a refusal, then acknowledge to the broker (the message is stored)."""
        status, reason, detail = verdict.status, verdict.reason or "", verdict.detail or ""
        seq = getattr(verdict, "seq", None)
        self.metrics.count_verdict(status, reason, int(getattr(verdict, "gap", 0) or 0))
        try:
            where: DeviceTopic | None = parse_topic(item.topic, self.settings.prefix)
        except TopicError:
            where = None
        try:
            if where is not None:
                props = None
                if item.correlation is not None:
                    # At QoS 0 paho packs the properties inside publish(): one object serves every answer.
                    props = self._answer_props if self.settings.answer_qos == 0 else Properties(PacketTypes.PUBLISH)
                    props.CorrelationData = item.correlation
                self.client.publish(
                    response_topic_for(where, item.response_topic),
                    ack_payload(status, reason, detail, seq, item.correlation), qos=self.settings.answer_qos, properties=props,
                )
            if status == "refused":
                self.dead_letter(reason, detail, item.topic, item.payload, verdict.device or "", seq, item.received_at)
        except Exception as exc:  # noqa: BLE001 - answers are best effort; the message is stored either way
            log.warning("event=answer_failed topic=%s error=%r", item.topic, exc)
        if item.qos == 0:
            return
        with self._lock:
            if item.generation == self._generation:
                rc = self.client.ack(item.mid, item.qos)
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self.acked += 1
            else:
                self.unacked_stale += 1  # its connection is gone; the broker redelivers it, the intake sees a duplicate
        self.metrics.intake_seconds.observe(time.monotonic() - item.received_mono)
