"""Acceptance (issue 8): bad messages are refused with their reason on the dead-letter topic and nothing reaches the chain.

Real components only: the machine's Mosquitto on 127.0.0.1:1883, and a private
Mosquitto with a TLS listener that requires client certificates and an ACL;
the bridge (BridgeService: intake, outbox, drainer with the device log mapper)
in front of a real node and gateway. Each case is one message: a forged
signature, an unknown device, a revoked device, a malformed payload, a message
on another device's topic, a replayed sequence number. One good message goes
along as the control: it alone is on chain afterwards.
"""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from chain.sdk import PrivateKey
from iot_bridge.config import parse_config
from iot_bridge.contract import logged_runs
from iot_bridge.message import DeviceMessage, Reading, sign_message
from iot_bridge.mqtt import make_client
from iot_bridge.service import BridgeService
from iot_bridge.simulator import DevicePublisher
from tests.iot_bridge.core_fixtures import ORG, PASSWORD, ChainStack, start_chain
from tests.iot_bridge.mosquitto import DevicePKI, PrivateBroker, free_port

EXPECTED = {"bad_signature", "unknown_device", "revoked_device", "malformed", "wrong_topic", "replay"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainStack]:
    yield from start_chain(tmp_path_factory.mktemp("refusals"))


class DeadLetters:
    """A subscriber to the bridge-wide dead-letter topics."""

    def __init__(self, host: str, port: int, tls: dict[str, str] | None = None) -> None:
        self.letters: list[dict[str, Any]] = []
        self.client = make_client(f"dead-letters-{secrets.token_hex(4)}", **(tls or {}))
        self.client.on_message = lambda _c, _u, m: self.letters.append(json.loads(m.payload))
        self.client.connect(host, port)
        self.client.subscribe("bridge/dead-letter/#", qos=1)
        self.client.loop_start()

    def reasons(self, prefix: str) -> set[str]:
        return {d["reason"] for d in self.letters if d.get("topic", "").startswith(prefix + "/")}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _bridge(stack: ChainStack, tmp: Path, host: str, port: int, prefix: str,
            tls: dict[str, str] | None = None) -> BridgeService:
    key_file = Path(stack.ca_dir).parent / "keys" / f"{ORG}.key"
    env = {"REFUSALS_PW": PASSWORD.decode()}
    config = parse_config({
        "broker": {"host": host, "port": port, "client_id": f"bridge-{prefix}", **(tls or {})},
        "topics": {"prefix": prefix},
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "gateway": {"url": stack.url},
        "organisations": {ORG: {"key_file": str(key_file), "password_env": "REFUSALS_PW"}},
        "mapper": {"spec": "iot_bridge.device_log_mapper:DeviceLogMapper"},
        "http": {"listen": f"127.0.0.1:{free_port()}"},
    }, tmp, env)
    service = BridgeService(config, env=env)
    service.start()
    assert service.wait_connected(30), f"the bridge did not connect: {service.error}"
    return service


def _reading(device: str, seq: int, value: str = "4.0") -> DeviceMessage:
    return DeviceMessage(device, seq, f"2026-11-25T10:00:{seq:02d}.000Z", reading=Reading("temperature", value, "CEL"))


def _run_cases(stack: ChainStack, tmp: Path, host: str, port: int, prefix: str,
               tls_of: Any = None, bridge_tls: dict[str, str] | None = None) -> None:
    good_address, good = stack.register_device(f"{prefix}-good", ORG)
    revoked_address, revoked = stack.register_device(f"{prefix}-revoked", ORG)
    stack.set_state(revoked_address, "REVOKED")
    stranger = stack.admin.suite.generate_keypair().private  # never registered
    stranger_address = str(stack.admin.suite.address_of(stranger.public_key()))
    height = int(stack.admin.status()["height"])
    bridge = _bridge(stack, tmp, host, port, prefix, bridge_tls)
    letters = DeadLetters(host, port, bridge_tls and {"tls_ca": bridge_tls["tls_ca"], "tls_cert": bridge_tls["tls_cert"],
                                                      "tls_key": bridge_tls["tls_key"]})
    publishers: list[DevicePublisher] = []

    def device(address: str, key: PrivateKey | None) -> DevicePublisher:
        publisher = DevicePublisher(ORG, address, host, port, prefix=prefix, client_id=f"{prefix}-{address[:10]}",
                                    **(tls_of(address, key) if tls_of else {}))
        publisher.connect()
        publishers.append(publisher)
        return publisher

    try:
        mine, theirs, gone = device(good_address, good), device(stranger_address, stranger), device(revoked_address, revoked)
        cases = [
            (mine, sign_message(good, _reading(good_address, 1)), b"good"),
            (mine, sign_message(stranger, _reading(good_address, 2)), b"forged"),
            (theirs, sign_message(stranger, _reading(stranger_address, 1)), b"unknown"),
            (gone, sign_message(revoked, _reading(revoked_address, 1)), b"revoked"),
            (mine, b"\xd2\x84not cose at all", b"malformed"),
            (mine, sign_message(good, _reading(revoked_address, 3)), b"wrong-topic"),  # on my topic, for another device
            (mine, sign_message(good, _reading(good_address, 1, "9.9")), b"replay"),  # seq 1 again, other bytes
        ]
        for publisher, payload, correlation in cases:
            publisher.publish(payload, correlation)
        deadline = time.monotonic() + 30
        while letters.reasons(prefix) != EXPECTED:
            assert time.monotonic() < deadline, f"dead letters: {letters.letters}"
            time.sleep(0.1)
        answers = {c: p.answers.get(c, {}) for p, _, c in cases}
        assert answers[b"good"].get("status") == "accepted", answers
        assert {answers[c].get("reason") for c in answers if c != b"good"} == EXPECTED, answers
        while bridge.outbox.counts().get("committed", 0) < 1:
            assert time.monotonic() < deadline + 30, f"the good message was not committed: {bridge.outbox.counts()}"
            time.sleep(0.1)
        assert {k: v for k, v in bridge.outbox.counts().items() if v} == {"committed": 1}
    finally:
        for publisher in publishers:
            publisher.close()
        letters.close()
        bridge.stop()
    on_chain = stack.admin.contract_value("device_log", "devices", good_address)
    assert on_chain is not None and on_chain["count"] == 1 and on_chain["last_seq"] == 1, on_chain
    assert on_chain["missing"] == [], on_chain
    for address in (stranger_address, revoked_address):
        assert stack.admin.contract_value("device_log", "devices", address) is None
    logged = [(device, first, len(digests)) for device, first, digests in logged_runs(stack.admin, height)]
    assert logged == [(good_address, 1, 1)], logged


def test_refusals_on_the_machine_broker_reach_no_chain(stack: ChainStack, system_broker: tuple[str, int],
                                                       tmp_path: Path) -> None:
    host, port = system_broker
    _run_cases(stack, tmp_path, host, port, f"acc{secrets.token_hex(3)}")


def test_refusals_over_tls_with_client_certificates_reach_no_chain(stack: ChainStack, tmp_path: Path,
                                                                   test_pki: DevicePKI) -> None:
    """The broker knows each device from its TLS certificate (CN = chain address) and confines it to its topic."""
    broker = PrivateBroker(tmp_path / "tls-broker", tls=test_pki)
    broker.start()
    try:
        def tls_of(address: str, key: PrivateKey | None) -> dict[str, str]:
            ident = test_pki.leaf(f"dev-{address[:10]}", "device", key=key)
            assert ident.name == address
            return {"tls_ca": str(test_pki.ca_bundle), "tls_cert": str(ident.cert), "tls_key": str(ident.key_file)}

        bridge_tls = {"tls_ca": str(test_pki.ca_bundle), "tls_cert": str(test_pki.bridge.cert),
                      "tls_key": str(test_pki.bridge.key_file)}
        _run_cases(stack, tmp_path, broker.host, broker.port, "trace", tls_of, bridge_tls)
    finally:
        broker.kill()

