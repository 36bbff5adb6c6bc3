"""The device simulator: scenarios, persistent sequence numbers, and the CLI against a running bridge."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from chain.crypto import Algorithm, PrivateKey
from chain.crypto.keystore import load_key
from iot_bridge.config import parse_config
from iot_bridge.devices import ACTIVE, Device, DeviceRegistry
from iot_bridge.message import decode_message
from iot_bridge.service import BridgeService
from iot_bridge.simulator import SequenceState, SimDevice, cli, cold_chain_values, production_line_events, sign_messages
from tests.iot_bridge.conftest import running_bridge
from tests.iot_bridge.test_mqtt import _clear_session

PASSWORD = "device-pw"


def test_sequence_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert list(SequenceState(path).reserve("d1", 3)) == [1, 2, 3]
    assert list(SequenceState(path).reserve("d1", 2)) == [4, 5]
    assert list(SequenceState(path).reserve("d2", 1)) == [1]
    assert json.loads(path.read_text()) == {"d1": 6, "d2": 2}
    memory = SequenceState(None)
    assert list(memory.reserve("d", 2)) == [1, 2] and list(memory.reserve("d", 1)) == [3]


def test_scenarios_produce_valid_signed_messages() -> None:
    dev = SimDevice(PrivateKey.generate(Algorithm.ECDSA_P256), "org1")
    line = [decode_message(raw).message for _, raw in sign_messages(dev, [1, 2, 3, 4], "production-line")]
    assert [m.event["bizStep"] for m in line] == ["commissioning", "packing", "commissioning", "packing"]
    assert line[0].event["epcList"] == line[1].event["epcList"] != line[2].event["epcList"]
    assert all(m.device == dev.address and m.reading is None for m in line)
    cold = [decode_message(raw) for _, raw in sign_messages(dev, list(range(10, 20)), "cold-chain", excursion_at=4)]
    assert [s.message.seq for s in cold] == list(range(10, 20))
    assert all(s.verify(dev.key.public_key()) for s in cold)
    values = [Decimal(s.message.reading.value) for s in cold]
    assert values[4:7] == [Decimal("12.5")] * 3 and all(v < 8 for v in values[:4] + values[7:])
    assert cold[0].message.reading.uom == "CEL"
    assert list(cold_chain_values(2)) == ["4.0", "4.2"]
    assert next(production_line_events(1, "urn:epc:id:sgtin:1.2."))["epcList"] == ["urn:epc:id:sgtin:1.2.1"]
    with pytest.raises(ValueError, match="scenario"):
        sign_messages(dev, [1], "bakery")


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    out = tmp_path / "keys"
    result = CliRunner().invoke(cli, ["keygen", "--out", str(out), "--count", "2", "--password-env", "SIM_PW"],
                                env={"SIM_PW": PASSWORD})
    assert result.exit_code == 0, result.output
    assert len(result.output.split()) == 2
    return out


@pytest.fixture
def bridge(system_broker: tuple[str, int], tmp_path: Path, keys_dir: Path) -> Iterator[BridgeService]:
    prefix = "m" + uuid.uuid4().hex[:10]
    registry = DeviceRegistry.static(
        Device(SimDevice(k, "org1").address, "org1", ACTIVE, k.public_key(), ("device",))
        for k in (load_key(f, PASSWORD.encode()) for f in sorted(keys_dir.glob("*.key"))))
    cfg = parse_config({"broker": {"host": system_broker[0], "port": system_broker[1], "client_id": f"bridge-{prefix}"},
                        "topics": {"prefix": prefix}, "outbox": {"path": str(tmp_path / "outbox.sqlite")},
                        "http": {"listen": "127.0.0.1:0"}}, tmp_path, {})
    try:
        with running_bridge(cfg, registry, system_broker) as svc:
            yield svc
    finally:
        for f in keys_dir.glob("*.key"):
            _clear_session(*system_broker, f"sim-{f.stem}")


def test_cli_replays_scenarios_and_continues_its_sequence(bridge: BridgeService, keys_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    base = ["run", "--keys", str(keys_dir), "--password-env", "SIM_PW", "--org", "org1", "--state", str(state),
            "--prefix", bridge.config.topics.prefix, "--rate", "0", "--wait", "15"]
    runner = CliRunner()
    first = runner.invoke(cli, [*base, "--scenario", "cold-chain", "--count", "25", "--excursion-at", "10"],
                          env={"SIM_PW": PASSWORD})
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["accepted"] == 50 and report["refused"] == {} and report["missing"] == 0
    assert report["latency_ms"]["p50"] is not None and report["devices"] == 2

    second = runner.invoke(cli, [*base, "--scenario", "production-line", "--count", "10", "--devices", "1"],
                           env={"SIM_PW": PASSWORD})
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["accepted"] == 10  # seq 26..35: a restarted simulator is no replay
    assert sorted(json.loads(state.read_text()).values()) == [26, 36]
    assert bridge.outbox.counts()["pending"] == 60


def test_cli_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--scenario", "cold-chain", "--keys", str(tmp_path), "--password-env", "NOPE",
                                      "--org", "org1"], env={})
    assert result.exit_code == 2 and "NOPE" in result.output
