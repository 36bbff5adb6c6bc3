"""The bridge service: real Outbox + Intake + MQTT on the system broker, /health and /metrics, the CLI."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests
from click.testing import CliRunner

from chain.crypto import Algorithm, PrivateKey
from iot_bridge.__main__ import cli
from iot_bridge.config import BridgeConfig, load_config, parse_config
from iot_bridge.devices import ACTIVE, Device, DeviceRegistry
from iot_bridge.service import BridgeService
from iot_bridge.simulator import DevicePublisher, SimDevice, publish_presigned, sign_messages
from tests.iot_bridge.conftest import running_bridge, wait_until

ORG = "org1"


def _config(tmp: Path, host: str, port: int, prefix: str) -> BridgeConfig:
    return parse_config({
        "broker": {"host": host, "port": port, "client_id": f"bridge-{prefix}"},
        "topics": {"prefix": prefix},
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "gateway": {"url": "http://127.0.0.1:9"},  # nothing listens: the chain side is injected below
        "http": {"listen": "127.0.0.1:0"},
    }, tmp, {})


@pytest.fixture
def devices() -> list[SimDevice]:
    return [SimDevice(PrivateKey.generate(Algorithm.ECDSA_P256), ORG) for _ in range(2)]


@pytest.fixture
def service(system_broker: tuple[str, int], tmp_path: Path, devices: list[SimDevice]) -> Iterator[BridgeService]:
    prefix = "s" + uuid.uuid4().hex[:10]
    registry = DeviceRegistry.static(
        Device(d.address, ORG, ACTIVE, d.key.public_key(), ("device",)) for d in devices[:1])  # devices[1]: unknown
    with running_bridge(_config(tmp_path, *system_broker, prefix), registry, system_broker) as svc:
        yield svc


def test_signed_messages_reach_the_outbox_and_health_metrics_tell(service: BridgeService, devices: list[SimDevice],
                                                                   system_broker: tuple[str, int]) -> None:
    base = f"http://{service.http_address}"
    prefix = service.config.topics.prefix
    known, unknown = devices
    pub = DevicePublisher(ORG, known.address, *system_broker, prefix=prefix, client_id=f"{prefix}-{known.address}")
    stranger = DevicePublisher(ORG, unknown.address, *system_broker, prefix=prefix, client_id=f"{prefix}-{unknown.address}")
    pub.connect()
    stranger.connect()
    try:
        report = publish_presigned(pub, sign_messages(known, list(range(1, 21)), "cold-chain", excursion_at=5), wait_s=10)
        assert report.as_dict()["accepted"] == 20 and report.missing == 0
        replay = publish_presigned(pub, sign_messages(known, [3], "cold-chain"), wait_s=10)  # seq 3, other bytes
        assert dict(replay.refused) == {"replay": 1}
        refused = publish_presigned(stranger, sign_messages(unknown, [1], "production-line"), wait_s=10)
        assert dict(refused.refused) == {"unknown_device": 1}
    finally:
        pub.close()
        stranger.close()

    assert service.outbox.counts()["pending"] == 20
    health = requests.get(f"{base}/health", timeout=5)
    body = health.json()
    assert health.status_code == 200, body
    assert body["broker_connected"] is True and body["gateway_reachable"] is False
    assert body["outbox"]["pending"] == 20 and body["lag_ms"] >= 0 and body["state"] == "running"

    metrics = requests.get(f"{base}/metrics", timeout=5)
    assert metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.text
    for line in ("iot_bridge_received_total 22.0", "iot_bridge_accepted_total 20.0", "iot_bridge_queued 20.0",
                 'iot_bridge_refused_total{reason="replay"} 1.0', 'iot_bridge_refused_total{reason="unknown_device"} 1.0',
                 "iot_bridge_broker_connected 1.0"):
        assert line in text, line
    assert requests.get(f"{base}/nope", timeout=5).status_code == 404


def test_health_is_503_while_the_broker_is_unreachable(tmp_path: Path) -> None:
    from tests.iot_bridge.mosquitto import free_port

    cfg = parse_config({"broker": {"port": free_port(), "reconnect_max_s": 1}, "outbox": {"path": str(tmp_path / "o.sqlite")},
                        "http": {"listen": "127.0.0.1:0"}, "gateway": {"url": "http://127.0.0.1:9"}}, tmp_path, {})
    svc = BridgeService(cfg, env={}, devices=DeviceRegistry.static([]), drainer=None)
    svc.start()
    try:
        response = requests.get(f"http://{svc.http_address}/health", timeout=10)
        assert response.status_code == 503, response.text
        assert response.json()["broker_connected"] is False, response.text
    finally:
        svc.stop()


def test_cli_check_config_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text('[broker]\nport = 1884\n[outbox]\npath = "data/outbox.sqlite"\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(path), "check-config"], env={"IOT_BRIDGE_HTTP_LISTEN": "127.0.0.1:9999"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["http"] == "127.0.0.1:9999"
    printed = runner.invoke(cli, ["--config", str(path), "check-config", "--print"], env={})
    again = tmp_path / "again.toml"
    again.write_text(printed.output)
    assert load_config(again, env={}) == load_config(path, env={})

    path.write_text("[broker]\nport = 70000\n")
    bad = runner.invoke(cli, ["--config", str(path), "check-config"], env={})
    assert bad.exit_code == 2
    assert "broker.port" in bad.output


# --- the real process against a real chain ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.iot_bridge.core_fixtures import start_chain

    yield from start_chain(tmp_path_factory.mktemp("chain"))


def test_bridge_process_end_to_end_and_graceful_sigterm(chain: object, system_broker: tuple[str, int],
                                                         tmp_path: Path) -> None:
    """`python -m iot_bridge run`: chain registry, MQTT, outbox, drainer to the device log contract; SIGTERM stops it."""
    import os
    import signal
    import subprocess
    import sys

    from iot_bridge.outbox import Outbox
    from tests.iot_bridge.conftest import REPO
    from tests.iot_bridge.core_fixtures import ORG as CORE_ORG
    from tests.iot_bridge.core_fixtures import PASSWORD
    from tests.iot_bridge.mosquitto import free_port
    from tests.iot_bridge.test_mqtt import _clear_session

    stack: object = chain
    address, key = stack.register_device("e2e-device", CORE_ORG)  # type: ignore[attr-defined]
    prefix = "e" + uuid.uuid4().hex[:10]
    http_port = free_port()
    keys = Path(stack.ca_dir).parent / "keys"  # type: ignore[attr-defined]
    cfg = tmp_path / "bridge.toml"
    cfg.write_text(f"""
[broker]
host = "{system_broker[0]}"
port = {system_broker[1]}
client_id = "bridge-{prefix}"
[topics]
prefix = "{prefix}"
[outbox]
path = "outbox.sqlite"
[gateway]
url = "{stack.url}"
[organisations.{CORE_ORG}]
key_file = "{keys / f'{CORE_ORG}.key'}"
password_env = "ORG_PW"
[mapper]
spec = "iot_bridge.device_log_mapper:DeviceLogMapper"
[http]
listen = "127.0.0.1:{http_port}"
""")  # noqa: E501
    env = dict(os.environ, ORG_PW=PASSWORD if isinstance(PASSWORD, str) else PASSWORD.decode(), PYTHONPATH=str(REPO))
    log_file = open(tmp_path / "bridge.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "iot_bridge", "--config", str(cfg), "run"], cwd=REPO, env=env,
                            stderr=log_file, stdout=log_file)
    pub = None
    try:
        health_url = f"http://127.0.0.1:{http_port}/health"

        def healthy() -> bool:
            try:
                return requests.get(health_url, timeout=1).status_code == 200
            except requests.RequestException:
                return False

        assert wait_until(healthy, 30), proc.poll()
        dev = SimDevice(key, CORE_ORG)
        pub = DevicePublisher(CORE_ORG, address, *system_broker, prefix=prefix, client_id=f"{prefix}-dev")
        pub.connect()
        report = publish_presigned(pub, sign_messages(dev, list(range(1, 51)), "cold-chain"), wait_s=20)
        assert report.as_dict()["accepted"] == 50, report.as_dict()
        outbox = Outbox(tmp_path / "outbox.sqlite")
        try:
            assert wait_until(lambda: outbox.counts()["committed"] == 50, 60), outbox.counts()
        finally:
            outbox.close()
        body = requests.get(health_url, timeout=5).json()
        assert body["gateway_reachable"] is True and body["outbox"]["committed"] == 50 and body["lag_ms"] == 0
        assert "iot_bridge_committed 50.0" in requests.get(f"http://127.0.0.1:{http_port}/metrics", timeout=5).text
    finally:
        if pub is not None:
            pub.close()
            _clear_session(*system_broker, f"{prefix}-dev")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        _clear_session(*system_broker, f"bridge-{prefix}")
        log_file.close()
    text = (tmp_path / "bridge.log").read_text()
    assert code == 0, text
    assert "event=bridge_running" in text and "event=bridge_stopped" in text
