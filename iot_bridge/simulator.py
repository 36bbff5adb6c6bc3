"""Device simulator: a production line's scanners or a cold-chain truck's logger, publishing signed messages.

    python -m iot_bridge.simulator keygen --out keys/ --count 3 --password-env DEVICE_PW
    python -m iot_bridge.simulator run --scenario cold-chain --keys keys/ --password-env DEVICE_PW \
        --org org1 --count 100 --rate 50 --state sim-state.json

Each device keeps one MQTT 5 connection (client id ``sim-<address>``), publishes QoS 1 on
``trace/<org>/<address>/events`` with a ResponseTopic and CorrelationData, and waits for the
bridge's answers; the report counts accepted/duplicate/refused (by reason) and the latency
from publish to answer. Sequence numbers are reserved in a state file *before* publishing,
so a restarted simulator continues its sequence and never reuses a number (that would be a replay).

The publishing path is usable alone by benchmarks: ``DevicePublisher.publish_many`` sends a
pre-signed list as fast as the broker takes it (bounded by max_inflight) and collects answers.
"""
from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

import click
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from chain.crypto import Algorithm, PrivateKey, get_suite
from chain.crypto.keystore import load_key, save_key
from iot_bridge.mqtt import connect_properties, make_client
from iot_bridge.topics import DEFAULT_PREFIX, acks_topic, events_topic

log = logging.getLogger(__name__)

SCENARIOS = ("production-line", "cold-chain")


# --- sequence state ----------------------------------------------------------------------------------------------


class SequenceState:
    """Next sequence number per device in a small JSON file, locked and replaced atomically."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._memory: dict[str, int] = {}
        self._lock = threading.Lock()

    def reserve(self, device: str, count: int) -> range:
        """count fresh sequence numbers for device, durable before they are returned."""
        with self._lock:
            if self.path is None:
                start = self._memory.get(device, 1)
                self._memory[device] = start + count
                return range(start, start + count)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(self.path.suffix + ".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                state = self.load()
                start = int(state.get(device, 1))
                state[device] = start + count
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".seq-")
                with os.fdopen(fd, "w") as f:
                    json.dump(state, f, sort_keys=True, indent=1)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                return range(start, start + count)

    def load(self) -> dict[str, int]:
        if self.path is None:
            return dict(self._memory)
        try:
            return {k: int(v) for k, v in json.loads(self.path.read_text()).items()}
        except FileNotFoundError:
            return {}


# --- scenarios ---------------------------------------------------------------------------------------------------


def _rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def production_line_events(count: int, epc_prefix: str, start_serial: int = 1, read_point: str = "urn:epc:id:sgln:0614141.00777.0",
                           at: datetime | None = None) -> Iterator[dict[str, Any]]:
    """EPCIS 2.0 ObjectEvents: each EPC is commissioned, then packed (two events per EPC, count events in all)."""
    at = at or datetime.now(timezone.utc)
    for i in range(count):
        epc = f"{epc_prefix}{start_serial + i // 2}"
        commissioning = i % 2 == 0
        yield {
            "type": "ObjectEvent",
            "eventTime": _rfc3339(at + timedelta(milliseconds=i)),
            "eventTimeZoneOffset": "+00:00",
            "epcList": [epc],
            "action": "ADD" if commissioning else "OBSERVE",
            "bizStep": "commissioning" if commissioning else "packing",
            "disposition": "active" if commissioning else "in_progress",
            "readPoint": {"id": read_point},
        }


def cold_chain_values(count: int, base: Decimal = Decimal("4.0"), excursion_at: int | None = None,
                      excursion_len: int = 3, excursion_value: Decimal = Decimal("12.5")) -> Iterator[str]:
    """Temperatures in degrees Celsius as decimal strings: a gentle wave around base, with an optional excursion."""
    wave = (Decimal("0.0"), Decimal("0.2"), Decimal("0.4"), Decimal("0.2"), Decimal("0.0"), Decimal("-0.2"))
    for i in range(count):
        if excursion_at is not None and excursion_at <= i < excursion_at + excursion_len:
            yield str(excursion_value)
        else:
            yield str(base + wave[i % len(wave)])


# --- devices -----------------------------------------------------------------------------------------------------


@dataclass
class SimDevice:
    """A simulated device: its key, chain address (the topic segment) and organisation."""

    key: PrivateKey
    org: str
    suite: str = "classic"

    @property
    def address(self) -> str:
        from iot_bridge.message import device_address

        return device_address(self.key)


def sign_messages(device: SimDevice, seqs: Sequence[int], scenario: str, *, epc_prefix: str = "urn:epc:id:sgtin:0614141.107346.",
                  excursion_at: int | None = None, interval_ms: int = 1000,
                  at: datetime | None = None) -> list[tuple[int, bytes]]:
    """(seq, COSE_Sign1 bytes) of the scenario's next len(seqs) messages for device."""
    from iot_bridge.message import DeviceMessage, Reading, sign_message

    at = at or datetime.now(timezone.utc)
    out: list[tuple[int, bytes]] = []
    if scenario == "production-line":
        serial0 = (seqs[0] + 1) // 2 if seqs else 1
        events = production_line_events(len(seqs), epc_prefix, start_serial=serial0, at=at)
        for seq, event in zip(seqs, events):
            msg = DeviceMessage(device=device.address, seq=seq, time=event["eventTime"], event=event)
            out.append((seq, sign_message(device.key, msg)))
    elif scenario == "cold-chain":
        for i, (seq, value) in enumerate(zip(seqs, cold_chain_values(len(seqs), excursion_at=excursion_at))):
            msg = DeviceMessage(device=device.address, seq=seq, time=_rfc3339(at + timedelta(milliseconds=i * interval_ms)),
                                reading=Reading(kind="temperature", value=value, uom="CEL"))
            out.append((seq, sign_message(device.key, msg)))
    else:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    return out


# --- publishing --------------------------------------------------------------------------------------------------


@dataclass
class PublishReport:
    """What came back for the messages one or more publishers sent."""

    published: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    seconds: float = 0.0

    def merge(self, other: PublishReport) -> None:
        self.published += other.published
        self.statuses.update(other.statuses)
        self.refused.update(other.refused)
        self.latencies_ms.extend(other.latencies_ms)
        self.missing += other.missing
        self.seconds = max(self.seconds, other.seconds)

    def as_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

        return {
            "published": self.published,
            "accepted": self.statuses.get("accepted", 0),
            "duplicate": self.statuses.get("duplicate", 0),
            "refused": dict(sorted(self.refused.items())),
            "missing": self.missing,
            "seconds": round(self.seconds, 3),
            "rate_per_s": round(self.published / self.seconds, 1) if self.seconds else None,
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": round(lat[-1], 2) if lat else None,
                           "mean": round(statistics.fmean(lat), 2) if lat else None},
        }


class DevicePublisher:
    """One device's MQTT 5 connection: QoS 1 publishing with ResponseTopic/CorrelationData, answers collected."""

    def __init__(self, org: str, device: str, host: str = "127.0.0.1", port: int = 1883, *, prefix: str = DEFAULT_PREFIX,
                 client_id: str | None = None, tls_ca: str = "", tls_cert: str = "", tls_key: str = "",
                 max_inflight: int = 1000, session_expiry_s: int = 3600) -> None:
        self.org, self.device, self.prefix = org, device, prefix
        self.topic = events_topic(org, device, prefix)
        self.response_topic = acks_topic(org, device, prefix)
        self.client = make_client(client_id or f"sim-{device}", tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._host, self._port, self._expiry = host, port, session_expiry_s
        self._subscribed = threading.Event()
        self._cond = threading.Condition()
        self._sent: dict[bytes, float] = {}
        self._counter = itertools.count(1)
        self.answers: dict[bytes, dict[str, Any]] = {}
        self.latencies_ms: dict[bytes, float] = {}

    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(self.response_topic, qos=1)
            self._subscribed.set()

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        corr = getattr(message.properties, "CorrelationData", None) if message.properties is not None else None
        if corr is None and body.get("correlation"):
            corr = bytes.fromhex(body["correlation"])
        if corr is None:
            return
        corr = bytes(corr)
        now = time.monotonic()
        with self._cond:
            if corr not in self.answers:
                self.answers[corr] = body
                sent = self._sent.get(corr)
                if sent is not None:
                    self.latencies_ms[corr] = (now - sent) * 1000.0
            self._cond.notify_all()

    def connect(self, timeout: float = 10.0) -> None:
        """Connect with a persistent session (its QoS 1 messages survive a broker restart) and subscribe to answers."""
        self.client.connect(self._host, self._port, keepalive=30, clean_start=False,
                            properties=connect_properties(self._expiry))
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.close()
            raise TimeoutError(f"{self.device}: not connected to {self._host}:{self._port} within {timeout}s")
        time.sleep(0.05)  # let the SUBACK land before answers may arrive

    def correlation(self, seq: int) -> bytes:
        """Correlation data unique to one publication of seq by this publisher (a re-send gets a new one)."""
        return f"{seq}.{next(self._counter)}".encode()

    def publish(self, payload: bytes, correlation: bytes, topic: str | None = None) -> paho.MQTTMessageInfo:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.response_topic
        props.CorrelationData = correlation
        with self._cond:
            self._sent[correlation] = time.monotonic()
        return self.client.publish(topic or self.topic, payload, qos=1, properties=props)

    def publish_many(self, items: Sequence[tuple[bytes, bytes]], rate: float = 0.0, topic: str | None = None) -> list[paho.MQTTMessageInfo]:
        """Publish (correlation, payload) pairs, at rate per second (0: as fast as the broker takes them)."""
        infos = []
        t0 = time.monotonic()
        for i, (correlation, payload) in enumerate(items):
            if rate > 0:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            infos.append(self.publish(payload, correlation, topic))
        return infos

    def wait_answers(self, correlations: Sequence[bytes], timeout: float) -> PublishReport:
        """Wait until every correlation has an answer (or timeout) and report."""
        deadline = time.monotonic() + timeout
        wanted = set(correlations)
        with self._cond:
            while not wanted <= self.answers.keys():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
            report = PublishReport(published=len(wanted))
            for corr in wanted:
                body = self.answers.get(corr)
                if body is None:
                    report.missing += 1
                    continue
                report.statuses[body.get("status", "?")] += 1
                if body.get("status") == "refused":
                    report.refused[body.get("reason", "?")] += 1
                if corr in self.latencies_ms:
                    report.latencies_ms.append(self.latencies_ms[corr])
        return report

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_presigned(publisher: DevicePublisher, messages: Sequence[tuple[int, bytes]], *, rate: float = 0.0,
                      wait_s: float = 60.0) -> PublishReport:
    """Benchmark path: publish pre-signed (seq, bytes) as fast as the broker takes them, then collect the answers."""
    items = [(publisher.correlation(seq), payload) for seq, payload in messages]
    t0 = time.monotonic()
    publisher.publish_many(items, rate=rate)
    report = publisher.wait_answers([c for c, _ in items], wait_s)
    report.seconds = time.monotonic() - t0
    return report


def run_scenario(devices: Sequence[SimDevice], scenario: str, *, count: int, rate: float, host: str, port: int,
                 state: SequenceState, prefix: str = DEFAULT_PREFIX, tls: dict[str, str] | None = None,
                 excursion_at: int | None = None, wait_s: float = 60.0) -> PublishReport:
    """count messages per device, each device in its own thread at rate per second; the merged report."""
    tls = tls or {}
    total = PublishReport()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def one(dev: SimDevice) -> None:
        try:
            seqs = state.reserve(dev.address, count)
            signed = sign_messages(dev, list(seqs), scenario, excursion_at=excursion_at,
                                   interval_ms=int(1000 / rate) if rate > 0 else 1000)
            pub = DevicePublisher(dev.org, dev.address, host, port, prefix=prefix, tls_ca=tls.get("ca", ""),
                                  tls_cert=tls.get(f"{dev.address}.cert", ""), tls_key=tls.get(f"{dev.address}.key", ""))
            pub.connect()
            try:
                report = publish_presigned(pub, signed, rate=rate, wait_s=wait_s)
            finally:
                pub.close()
            with lock:
                total.merge(report)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(d,), name=f"sim-{d.address}") for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return total


# --- CLI -----------------------------------------------------------------------------------------------------------


def _password(env_name: str) -> bytes:
    value = os.environ.get(env_name)
    if value is None:
        raise click.UsageError(f"--password-env: environment variable {env_name} is not set")
    return value.encode()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Simulated IoT devices for the bridge: key generation and scenario replay."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for the key files.")
@click.option("--count", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--password-env", required=True, help="Environment variable holding the key files' password.")
@click.option("--suite", type=click.Choice(["classic", "sm"]), default="classic", show_default=True)
def keygen(out_dir: Path, count: int, password_env: str, suite: str) -> None:
    """Create device key files (chain keystore format); prints each device's address."""
    password = _password(password_env)
    algorithm = Algorithm.ECDSA_P256 if suite == "classic" else Algorithm.SM2
    out_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(count):
        key = PrivateKey.generate(algorithm)
        address = str(get_suite(suite).address_of(key.public_key()))
        save_key(out_dir / f"{address}.key", key, password, label=f"device {address}", scrypt_n=2**12)
        click.echo(address)


@cli.command()
@click.option("--scenario", type=click.Choice(SCENARIOS), required=True)
@click.option("--keys", "keys_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Directory of device key files (*.key).")
@click.option("--password-env", required=True, help="Environment variable holding the key files' password.")
@click.option("--devices", type=click.IntRange(1, 10_000), default=None, help="Use only the first N key files.")
@click.option("--org", required=True, help="The devices' organisation (topic segment).")
@click.option("--count", type=click.IntRange(1, 10_000_000), default=10, show_default=True, help="Messages per device.")
@click.option("--rate", type=click.FloatRange(0, None), default=10.0, show_default=True, help="Messages/s per device (0: flat out).")
@click.option("--excursion-at", type=int, default=None, help="cold-chain: the reading index where a 3-reading excursion starts.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("iot-sim-state.json"),
              show_default=True, help="Sequence number state file.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=1883, show_default=True)
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True)
@click.option("--tls-ca", default="", help="CA bundle of the broker's TLS listener.")
@click.option("--tls-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with <address>.crt/<address>.pem client certificates and keys.")
@click.option("--suite", type=click.Choice(["classic", "sm"]), default="classic", show_default=True)
@click.option("--wait", "wait_s", type=float, default=60.0, show_default=True, help="Seconds to wait for answers.")
def run(scenario: str, keys_dir: Path, password_env: str, devices: int | None, org: str, count: int, rate: float,
        excursion_at: int | None, state_path: Path, host: str, port: int, prefix: str, tls_ca: str, tls_dir: Path | None,
        suite: str, wait_s: float) -> None:
    """Replay a scenario and print a JSON report (accepted, duplicate, refused by reason, latency)."""
    password = _password(password_env)
    files = sorted(keys_dir.glob("*.key"))[: devices or None]
    if not files:
        raise click.UsageError(f"--keys: no *.key files in {keys_dir}")
    sims = [SimDevice(load_key(f, password), org, suite) for f in files]
    tls: dict[str, str] = {}
    if tls_ca:
        tls["ca"] = tls_ca
        for d in sims:
            if tls_dir is not None:
                tls[f"{d.address}.cert"] = str(tls_dir / f"{d.address}.crt")
                tls[f"{d.address}.key"] = str(tls_dir / f"{d.address}.pem")
    report = run_scenario(sims, scenario, count=count, rate=rate, host=host, port=port, state=SequenceState(state_path),
                          prefix=prefix, tls=tls, excursion_at=excursion_at, wait_s=wait_s)
    click.echo(json.dumps({"scenario": scenario, "devices": len(sims), **report.as_dict()}, sort_keys=True))
    if report.missing:
        raise SystemExit(1)


def main() -> None:
    cli(prog_name="python -m iot_bridge.simulator")


if __name__ == "__main__":
    main()
