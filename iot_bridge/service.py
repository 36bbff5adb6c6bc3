"""The bridge process: outbox + device registry + intake + MQTT + drainer, with /health and /metrics over HTTP.

Start order matters for the durability rule. The HTTP server comes up first (an operator can
see a bridge that is waiting), then the chain side (device registry, signing clients: their
constructors need the gateway, so they are retried with backoff), and only then the MQTT
session: until the bridge can judge messages it does not take them, and the broker keeps
them in the persistent session. Stop order is the reverse: MQTT first (what was received is
stored and acknowledged), then the drainer, then the outbox.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping

import requests

from iot_bridge.config import BridgeConfig
from iot_bridge.metrics import CONTENT_TYPE_LATEST, BridgeMetrics
from iot_bridge.mqtt import MqttIntake, MqttSettings

log = logging.getLogger(__name__)

STARTING, RUNNING, STOPPING, STOPPED = "starting", "running", "stopping", "stopped"


class KeyValueFormatter(logging.Formatter):
    """One line per record: ``time level logger message``; messages are already ``event=... key=value`` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        text = f"ts={stamp} level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        if record.exc_info:
            text += " exc=" + json.dumps(self.formatException(record.exc_info))
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record; key=value pairs of the message become fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) +
                                f".{int(record.msecs):03d}Z", "level": record.levelname.lower(), "logger": record.name}
        message = record.getMessage()
        pairs = [p.split("=", 1) for p in message.split(" ") if "=" in p]
        if pairs and all(len(p) == 2 for p in pairs) and message.startswith("event="):
            body.update({k: v for k, v in pairs})
        else:
            body["message"] = message
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, sort_keys=True)


def configure_logging(level: str = "INFO", fmt: str = "kv") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class BridgeService:
    """One bridge: ``start()`` returns at once (chain and broker connect in the background), ``stop()`` drains.

    Tests and embedders may inject ``devices`` (a DeviceRegistry, e.g. DeviceRegistry.static) and ``drainer``
    (anything with ``run(stop: threading.Event)``, or None for no drainer); by default both are built from the
    config (gateway URL, organisations' key files, mapper spec).
    """

    _UNSET: Any = object()

    def __init__(self, config: BridgeConfig, *, env: Mapping[str, str] | None = None, devices: Any = None,
                 drainer: Any = _UNSET, metrics: BridgeMetrics | None = None) -> None:
        self.config = config
        self.env = os.environ if env is None else env
        self.metrics = metrics or BridgeMetrics()
        self.state = STOPPED
        self.error = ""
        self._devices = devices
        self._drainer = drainer
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.outbox: Any = None
        self.intake: Any = None
        self.mqtt: MqttIntake | None = None
        self.http: ThreadingHTTPServer | None = None
        self._gateway_seen: tuple[float, bool] = (0.0, False)

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        from iot_bridge.outbox import Outbox

        self.state = STARTING
        self._stop.clear()
        os.makedirs(os.path.dirname(os.path.abspath(self.config.outbox.path)), exist_ok=True)
        self.outbox = Outbox(self.config.outbox.path)
        self.metrics.bind_outbox(self.outbox.counts, self.outbox.lag_ms)
        self._start_http()
        self._spawn("bridge-startup", self._startup)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _retry(self, what: str, make: Callable[[], Any]) -> Any:
        """make() until it succeeds or the service stops (None then); backoff 0.5 s .. 10 s."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                return make()
            except Exception as exc:  # noqa: BLE001 - the gateway may be down at start; keep trying
                self.error = f"{what}: {exc}"
                log.warning("event=startup_retry what=%s error=%r retry_in_s=%.1f", what, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
        return None

    def _startup(self) -> None:
        from iot_bridge.intake import Intake

        devices = self._devices if self._devices is not None else self._retry("device_registry", self._make_registry)
        if devices is None:
            return
        self.intake = Intake(self.outbox, devices, self.config.topics.prefix)
        self.mqtt = MqttIntake(MqttSettings.from_config(self.config, self.env), self.intake, self.metrics)
        self.mqtt.start()
        drainer = self._drainer if self._drainer is not BridgeService._UNSET else self._retry("drainer", self._make_drainer)
        if drainer is not None and not self._stop.is_set():
            self._spawn("bridge-drainer", lambda: drainer.run(self._stop))
        if not self._stop.is_set():
            self.state = RUNNING
            self.error = ""
            log.info("event=bridge_running broker=%s:%s outbox=%s http=%s", self.config.broker.host,
                     self.config.broker.port, self.config.outbox.path, self.http_address)

    def _client(self, key: Any = None) -> Any:
        from chain.sdk import Client

        return Client(self.config.gateway.url, self.config.gateway.ledger, key=key, timeout_s=30.0)

    def _make_registry(self) -> Any:
        from iot_bridge.devices import DeviceRegistry

        registry = DeviceRegistry(self._client())
        registry.refresh()
        return registry

    def _make_drainer(self) -> Any:
        """The drainer of the configured mapper and organisations, or None if either is missing."""
        if not self.config.mapper.spec or not self.config.organisations:
            log.warning("event=no_drainer reason=%s", "no_mapper_spec" if not self.config.mapper.spec else "no_organisations")
            return None
        from chain.sdk import load_key
        from iot_bridge.drain import Drainer
        from iot_bridge.mapping import load_mapper

        mapper = load_mapper(self.config.mapper.spec, **dict(self.config.mapper.options))
        keys = {org: load_key(oc.key_file, self.env[oc.password_env].encode())
                for org, oc in self.config.organisations.items()}

        def client_of(org: str) -> Any:
            if org not in keys:
                raise KeyError(f"no signing key configured for organisation {org!r} (organisations.{org})")
            return self._client(keys[org])

        return Drainer(self.outbox, mapper, client_of, batch_size=self.config.batch.drain_max,
                       max_in_flight=self.config.batch.drain_in_flight,
                       on_refused=self._refused_on_chain, devices=self.intake.devices if self.intake else None,
                       messages=self.intake.recent if self.intake else None)

    def _refused_on_chain(self, row: Any, reason: str) -> None:
        """The drainer gave up on an accepted event (mapper or contract refused it): dead-letter it like the intake."""
        from iot_bridge.errors import CHAIN_REFUSED, REASONS

        code = reason.split(":", 1)[0].strip()
        code = code if code in REASONS else CHAIN_REFUSED
        if self.mqtt is not None:
            received = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row.received_at / 1000)) + \
                f".{row.received_at % 1000:03d}Z"
            self.mqtt.dead_letter(code, reason, row.topic, row.raw, row.device, row.seq, received)

    def wait_connected(self, timeout_s: float) -> bool:
        """Whether, within timeout_s, the bridge has read the device registry and is connected to the broker."""
        deadline = time.monotonic() + timeout_s
        while self.mqtt is None or not self.mqtt.wait_connected(0.1):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: MQTT (store and ack what arrived), drainer, HTTP, outbox."""
        if self.state == STOPPED:
            return
        self.state = STOPPING
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self.outbox is not None:
            self.outbox.close()
        self.state = STOPPED
        log.info("event=bridge_stopped")

    def run_forever(self) -> None:
        """start(), then block until SIGTERM or SIGINT, then stop()."""
        done = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("event=signal signal=%s", signal.Signals(signum).name)
            done.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not done.wait(0.5):
                pass
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)

    # --- health and metrics ---------------------------------------------------------------------------------------

    def gateway_reachable(self) -> bool:
        """A cheap GET of the ledger's status, cached for 2 s."""
        at, ok = self._gateway_seen
        if time.monotonic() - at < 2.0:
            return ok
        url = f"{self.config.gateway.url.rstrip('/')}/v1/ledgers/{self.config.gateway.ledger}"
        try:
            ok = requests.get(url, timeout=1.0).status_code < 500
        except requests.RequestException:
            ok = False
        self._gateway_seen = (time.monotonic(), ok)
        return ok

    def health(self) -> dict[str, Any]:
        counts = self.outbox.counts() if self.outbox is not None else {}
        lag = self.outbox.lag_ms() if self.outbox is not None else 0
        connected = self.mqtt is not None and self.mqtt.connected
        gateway = self.gateway_reachable()
        return {
            "status": "ok" if self.state == RUNNING and connected else ("starting" if self.state == STARTING else "degraded"),
            "state": self.state,
            "broker_connected": connected,
            "gateway_reachable": gateway,
            "outbox": counts,
            "lag_ms": lag,
            "backlog": self.mqtt.backlog() if self.mqtt is not None else 0,
            "error": self.error or (self.mqtt.last_error if self.mqtt is not None else ""),
        }

    @property
    def http_address(self) -> str:
        if self.http is None:
            return ""
        host, port = self.http.server_address[:2]
        return f"{host}:{port}"

    def _start_http(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path in ("/health", "/healthz"):
                    body = service.health()
                    code = 200 if body["status"] == "ok" else 503
                    self._send(code, "application/json", json.dumps(body, sort_keys=True).encode())
                elif self.path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, service.metrics.render())
                else:
                    self._send(404, "application/json", b'{"error":"not found"}')

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer((self.config.http.host, self.config.http.port), Handler)
        self.http.daemon_threads = True
        thread = threading.Thread(target=self.http.serve_forever, name="bridge-http", daemon=True)
        thread.start()
