"""The real IoT pipeline for the fault tests: devices (paho, persistent sessions, QoS 1) -> a private Mosquitto with
persistence -> `python -m iot_bridge run` in its own process (device log mapper, outbox in tmp) -> the gateway ->
a real node. Every process started here is stopped by `close()`, also when a test fails."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as paho
import requests

from iot_bridge.contract import check_run, logged_runs
from iot_bridge.mqtt import connect_properties, make_client
from iot_bridge.simulator import SimDevice, sign_messages
from iot_bridge.topics import events_topic
from tests.iot_bridge.conftest import REPO
from tests.iot_bridge.core_fixtures import ORG, PASSWORD, ChainStack
from tests.iot_bridge.mosquitto import PrivateBroker, free_port


class Timeout(AssertionError):
    """A wait ran past its deadline (the message says what was awaited and what was seen)."""


def await_condition(what: str, predicate: Callable[[], Any], timeout: float, diagnose: Callable[[], str],
                    interval: float = 0.05) -> Any:
    """predicate() until it is truthy; past the deadline raise Timeout naming `what` with diagnose()'s report."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}\n{diagnose()}")
        time.sleep(interval)


# --- devices ---------------------------------------------------------------------------------------------------------


@dataclass
class Published:
    seq: int
    payload: bytes
    info: paho.MQTTMessageInfo


class FleetDevice:
    """One device as it would behave in the field: fixed client id, clean_start=False with a session expiry, QoS 1,
    paho's automatic reconnect (which re-sends every QoS 1 message not PUBACKed, with DUP set, and sends what was
    published while the connection was down). Publishes pre-signed messages at a steady rate from its own thread
    and records every (seq, payload, MQTTMessageInfo) it published."""

    def __init__(self, key: Any, address: str, host: str, port: int, client_id: str) -> None:
        self.sim = SimDevice(key, ORG)
        assert self.sim.address == address, (self.sim.address, address)
        self.address = address
        self.topic = events_topic(ORG, address)
        self.host, self.port = host, port
        self.client = make_client(client_id)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)  # unbounded: nothing is dropped while the broker is away
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.lock = threading.Lock()
        self.published: list[Published] = []
        #: mids the broker PUBACKed (on_publish; a message published while disconnected keeps rc NO_CONN in its
        #: MQTTMessageInfo, so is_published() would raise for it even after paho sent it and got the PUBACK).
        #: A device publishes fewer than 65535 messages here, so a mid is never reused.
        self.acked_mids: set[int] = set()
        self.connects = 0
        self.session_present: list[bool] = []
        self.disconnects = 0
        #: Messages not PUBACKed when a connection dropped (paho must re-send each of them after reconnecting).
        self.unacked_at_disconnect = 0
        #: Messages published while paho knew the connection was down (queued by paho, sent after reconnecting).
        self.published_while_down = 0
        self.connected = threading.Event()
        self.errors: list[str] = []
        self.thread: threading.Thread | None = None
        self.done = threading.Event()

    def _on_connect(self, _c: Any, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.errors.append(f"connect refused: {rc}")
            return
        with self.lock:
            self.connects += 1
            self.session_present.append(bool(getattr(flags, "session_present", False)))
        self.connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self.connected.clear()
        with self.lock:
            self.disconnects += 1
            self.unacked_at_disconnect += sum(1 for p in self.published if p.info.mid not in self.acked_mids)

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self.lock:
            self.acked_mids.add(mid)

    def connect(self, timeout: float = 10.0) -> None:
        self.client.connect_async(self.host, self.port, keepalive=10, clean_start=False,
                                  properties=connect_properties(3600))
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise Timeout(f"device {self.address} did not connect to {self.host}:{self.port} within {timeout} s: "
                          f"{self.errors}")

    def start(self, count: int, rate: float, first_seq: int = 1) -> None:
        """Publish seqs first_seq .. first_seq+count-1 at `rate` per second in a thread."""
        signed = sign_messages(self.sim, list(range(first_seq, first_seq + count)), "cold-chain")
        self.thread = threading.Thread(target=self._run, args=(signed, rate), name=f"device-{self.address[:8]}",
                                       daemon=True)
        self.thread.start()

    def _run(self, signed: list[tuple[int, bytes]], rate: float) -> None:
        t0 = time.monotonic()
        try:
            for i, (seq, payload) in enumerate(signed):
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                info = self.client.publish(self.topic, payload, qos=1)
                if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
                    # NO_CONN: kept in the session's queue and sent after the reconnect; anything else is lost
                    self.errors.append(f"publish of seq {seq} failed: {paho.error_string(info.rc)}")
                with self.lock:
                    self.published.append(Published(seq, payload, info))
                    if info.rc == paho.MQTT_ERR_NO_CONN:
                        self.published_while_down += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"publisher crashed: {exc!r}")
        finally:
            self.done.set()

    def count(self) -> int:
        with self.lock:
            return len(self.published)

    def unacked(self) -> list[int]:
        with self.lock:
            return [p.seq for p in self.published if p.info.mid not in self.acked_mids]

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()


# --- the pipeline ----------------------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    stack: ChainStack
    directory: Path
    name: str
    devices: list[FleetDevice] = field(default_factory=list)
    broker: PrivateBroker | None = None
    bridge: subprocess.Popen[bytes] | None = None
    bridge_starts: int = 0
    http_port: int = 0
    start_height: int = 0

    @property
    def outbox_path(self) -> Path:
        return self.directory / "outbox.sqlite"

    @property
    def bridge_log(self) -> Path:
        return self.directory / "bridge.log"

    # set-up ------------------------------------------------------------------------------------------------------

    def start(self, n_devices: int) -> None:
        self.broker = PrivateBroker(self.directory / "broker")
        self.broker.start()
        keys = [self.stack.register_device(f"{self.name}-{i}", ORG) for i in range(n_devices)]
        self.start_height = int(self.stack.admin.status()["height"])
        self._write_config()
        self.start_bridge()
        for i, (address, key) in enumerate(keys):
            device = FleetDevice(key, address, self.broker.host, self.broker.port, f"{self.name}-dev{i}")
            self.devices.append(device)
            device.connect()

    def _write_config(self) -> None:
        self.http_port = free_port()
        assert self.broker is not None
        key_file = Path(self.stack.ca_dir).parent / "keys" / f"{ORG}.key"
        (self.directory / "bridge.toml").write_text(f"""
[broker]
host = "{self.broker.host}"
port = {self.broker.port}
client_id = "bridge-{self.name}"
reconnect_min_s = 1
reconnect_max_s = 2
[outbox]
path = "{self.outbox_path}"
[gateway]
url = "{self.stack.url}"
[organisations.{ORG}]
key_file = "{key_file}"
password_env = "FAULT_ORG_PW"
[mapper]
spec = "iot_bridge.device_log_mapper:DeviceLogMapper"
[http]
listen = "127.0.0.1:{self.http_port}"
[log]
level = "INFO"
""")

    def start_bridge(self) -> None:
        assert self.bridge is None or self.bridge.poll() is not None, "the bridge is running"
        env = dict(os.environ, FAULT_ORG_PW=PASSWORD.decode(), PYTHONPATH=str(REPO))
        with open(self.bridge_log, "ab") as log:
            log.write(f"--- bridge start #{self.bridge_starts + 1} ---\n".encode())
            log.flush()
            self.bridge = subprocess.Popen(
                [sys.executable, "-m", "iot_bridge", "--config", str(self.directory / "bridge.toml"), "run"],
                cwd=REPO, env=env, stdout=log, stderr=log)
        self.bridge_starts += 1
        await_condition("the bridge's /health to say ok (running, broker connected)", self.healthy, 60,
                        self.diagnosis, interval=0.1)

    def healthy(self) -> bool:
        if self.bridge is None or self.bridge.poll() is not None:
            raise AssertionError(f"the bridge process exited ({self.bridge and self.bridge.returncode})\n"
                                 f"{self.diagnosis()}")
        try:
            return requests.get(f"http://127.0.0.1:{self.http_port}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill_bridge(self) -> None:
        """kill -9 (SIGKILL): no chance to store, acknowledge or settle anything."""
        assert self.bridge is not None and self.bridge.poll() is None, "the bridge is not running"
        os.kill(self.bridge.pid, signal.SIGKILL)
        self.bridge.wait(10)
        assert self.bridge.returncode == -signal.SIGKILL, self.bridge.returncode

    # observation -------------------------------------------------------------------------------------------------

    def outbox_counts(self) -> Counter[str]:
        if not self.outbox_path.exists():
            return Counter()
        db = sqlite3.connect(f"file:{self.outbox_path}?mode=ro", uri=True, timeout=30)
        try:
            return Counter(dict(db.execute("SELECT status, count(*) FROM events GROUP BY status").fetchall()))
        except sqlite3.OperationalError:  # schema not there yet
            return Counter()
        finally:
            db.close()

    def outbox_rows(self) -> int:
        return sum(self.outbox_counts().values())

    def published(self) -> int:
        return sum(d.count() for d in self.devices)

    def streaming(self) -> bool:
        return any(d.thread is not None and not d.done.is_set() for d in self.devices)

    def diagnosis(self) -> str:
        lines = [f"outbox: {dict(self.outbox_counts())}", f"published: {self.published()}"]
        for d in self.devices:
            lines.append(f"device {d.address[:12]}: published {d.count()}, not PUBACKed {len(d.unacked())}, "
                         f"connects {d.connects}, disconnects {d.disconnects}, unacked at disconnect {d.unacked_at_disconnect}, "
                         f"published while down {d.published_while_down}, errors {d.errors[:3]}")
        if self.bridge is not None:
            lines.append(f"bridge process: {'running' if self.bridge.poll() is None else self.bridge.returncode}")
        try:
            lines.append("health: " + requests.get(f"http://127.0.0.1:{self.http_port}/health", timeout=2).text)
        except requests.RequestException as exc:
            lines.append(f"health: unreachable ({exc.__class__.__name__})")
        if self.bridge_log.exists():
            tail = self.bridge_log.read_text(errors="replace").splitlines()[-25:]
            lines.append("bridge log (tail):\n  " + "\n  ".join(tail))
        if self.broker is not None:
            lines.append("broker log (tail):\n  " + "\n  ".join(self.broker.log_text().splitlines()[-10:]))
        return "\n".join(lines)

    # the end state -----------------------------------------------------------------------------------------------

    def finish_and_check(self, stream_timeout: float, commit_timeout: float) -> int:
        """Wait for the devices to finish and every publication to be PUBACKed, then for the outbox to settle;
        check every published event is on chain exactly once (contract storage + LoggedRun events); the total."""
        await_condition("the devices to finish publishing", lambda: not self.streaming(), stream_timeout,
                        self.diagnosis)
        errors = [e for d in self.devices for e in d.errors]
        assert not errors, f"device errors: {errors[:10]}"
        await_condition("every publication to be PUBACKed by the broker (paho re-sends unacknowledged QoS 1 "
                        "messages after a reconnect)", lambda: not any(d.unacked() for d in self.devices), 60,
                        self.diagnosis)
        total = self.published()
        await_condition(f"all {total} events committed in the outbox",
                        lambda: self.outbox_counts()["committed"] >= total, commit_timeout, self.diagnosis,
                        interval=0.2)
        counts = self.outbox_counts()
        assert dict(counts) == {"committed": total}, (f"the outbox should hold exactly the {total} published events, "
                                                      f"all committed, none refused: {dict(counts)}\n{self.diagnosis()}")
        self.check_chain()
        return total

    def check_chain(self) -> None:
        admin = self.stack.admin
        expected: dict[tuple[str, int], bytes] = {}
        for d in self.devices:
            with d.lock:
                seqs = [p.seq for p in d.published]
                assert len(seqs) == len(set(seqs)), f"device {d.address} published a seq twice"
                expected.update({(d.address, p.seq): hashlib.sha256(p.payload).digest() for p in d.published})
            info = admin.contract_value("device_log", "devices", d.address)  # state proof checked by the SDK
            assert info is not None, f"device {d.address} has no device_log entry on chain"
            assert info["count"] == len(seqs) and info["last_seq"] == max(seqs), (
                f"device {d.address}: chain says count {info['count']} last_seq {info['last_seq']}, the device "
                f"published {len(seqs)} events up to seq {max(seqs)}")
            unlogged = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            assert sum(t - f + 1 for f, t in info["missing"]) == len(unlogged), (
                f"device {d.address}: chain says missing {info['missing']}, the device never published {unlogged[:10]}")
        addresses = {d.address for d in self.devices}
        logged: Counter[tuple[str, int]] = Counter()
        digests: dict[tuple[str, int], bytes] = {}
        runs = list(logged_runs(admin, self.start_height, addresses))
        for device, first, run in runs:
            for i, digest in enumerate(run):
                logged[(device, first + i)] += 1
                digests[(device, first + i)] = digest
        for device, first, run in runs[:: max(1, len(runs) // 20)]:  # a sample of the runs against their hashes
            assert check_run(admin, device, first, run), f"run {device}/{first} does not match its stored hash"
        lost = sorted(set(expected) - set(logged))
        extra = sorted(set(logged) - set(expected))
        twice = sorted(k for k, n in logged.items() if n > 1)
        assert not lost and not extra and not twice, (
            f"on chain vs published: {len(lost)} lost {lost[:5]}, {len(extra)} never published {extra[:5]}, "
            f"{len(twice)} logged more than once {twice[:5]}")
        wrong = [k for k, digest in expected.items() if digests[k] != digest]
        assert not wrong, f"{len(wrong)} events logged with another digest than their bytes' sha256: {wrong[:5]}"

    # tear-down ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        for d in self.devices:
            try:
                d.close()
            except Exception:  # noqa: BLE001 - clean up the rest regardless
                pass
        if self.bridge is not None and self.bridge.poll() is None:
            self.bridge.send_signal(signal.SIGTERM)
            try:
                self.bridge.wait(20)
            except subprocess.TimeoutExpired:
                self.bridge.kill()
                self.bridge.wait(10)
        if self.broker is not None:
            self.broker.kill()
