"""Shared pieces of the bridge-core tests: fixed device keys, message builders, hypothesis strategies, and a real
chain (node process + gateway) with organisations and devices registered on it."""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from hypothesis import strategies as st
from waitress.server import create_server

from chain.crypto import Algorithm, PrivateKey
from iot_bridge.devices import ACTIVE, Device, DeviceRegistry
from iot_bridge.local_broker import random_loopback_port
from iot_bridge.message import DeviceMessage, Reading, device_address, sign_message

ORG = "acme"
OTHER_ORG = "globex"
TIME = "2026-11-25T08:00:00.000Z"


def fixed_key(label: str, algorithm: Algorithm = Algorithm.ECDSA_P256) -> PrivateKey:
    """A deterministic test key (the scalar is sha256 of the label; valid for both curves in practice)."""
    return PrivateKey(algorithm, hashlib.sha256(label.encode()).digest())


#: The key of the worked examples in docs/iot.md.
DOC_KEY = fixed_key("iot-bridge docs/iot.md example device key")
DOC_SM2_KEY = fixed_key("iot-bridge docs/iot.md example device key", Algorithm.SM2)
DOC_EVENT = {
    "type": "ObjectEvent", "eventTime": "2026-11-25T08:00:05.000+01:00", "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "OBSERVE",
    "bizStep": "urn:epcglobal:cbv:bizstep:shipping", "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
}


def doc_messages() -> list[tuple[str, PrivateKey, DeviceMessage]]:
    """The worked examples of docs/iot.md: (title, key, message)."""
    es = device_address(DOC_KEY)
    sm = device_address(DOC_SM2_KEY)
    return [
        ("ES256 temperature reading", DOC_KEY, DeviceMessage(es, 1, TIME, Reading("temperature", "4.25", "CEL"))),
        ("ES256 EPCIS ObjectEvent", DOC_KEY, DeviceMessage(es, 2, "2026-11-25T08:00:05.000Z", event=DOC_EVENT)),
        ("SM2 humidity reading", DOC_SM2_KEY, DeviceMessage(sm, 7, TIME, Reading("humidity", "61.5", "P1"))),
    ]


@dataclass
class Fleet:
    """Devices with keys, a static registry of them, and message builders."""

    keys: dict[str, PrivateKey] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, org: str = ORG, state: str = ACTIVE, roles: tuple[str, ...] = ("device",),
            algorithm: Algorithm = Algorithm.ECDSA_P256) -> str:
        key = fixed_key(label, algorithm)
        address = device_address(key)
        self.keys[address] = key
        self.devices[address] = Device(address, org, state, key.public_key(), roles)
        self.labels[label] = address
        return address

    def registry(self) -> DeviceRegistry:
        return DeviceRegistry.static(self.devices.values())

    def reading(self, address: str, seq: int, value: str = "4.25") -> bytes:
        return sign_message(self.keys[address], DeviceMessage(address, seq, TIME, Reading("temperature", value, "CEL")))

    def topic(self, address: str, prefix: str = "trace") -> str:
        return f"{prefix}/{self.devices[address].organisation}/{address}/events"

    def item(self, address: str, seq: int, value: str = "4.25") -> tuple[str, bytes]:
        return self.topic(address), self.reading(address, seq, value)


# -- hypothesis strategies ------------------------------------------------------------------------------------------

decimals = st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,6})?", fullmatch=True)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")
readings = st.builds(Reading, kind=st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True), value=decimals,
                     uom=st.from_regex(r"[A-Z0-9]{2,3}", fullmatch=True))
json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
events = st.builds(lambda kind, extra: {**extra, "type": kind, "eventTime": "2026-11-25T08:00:05.000+01:00"},
                   st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent"]),
                   st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in ("type", "eventTime")),
                                   json_values, max_size=4))


def messages(address: str) -> st.SearchStrategy[DeviceMessage]:
    """Valid messages of one device."""
    seqs = st.integers(1, 2**63 - 1)
    return (st.builds(DeviceMessage, st.just(address), seqs, times, readings)
            | st.builds(lambda s, t, e: DeviceMessage(address, s, t, event=e), seqs, times, events))


# -- a real chain ---------------------------------------------------------------------------------------------------

PASSWORD = b"test-password"


@dataclass
class ChainStack:
    """A node process, a gateway on a fixed loopback port (restartable), organisations and their clients."""

    url: str
    port: int
    admin: Any
    ca_dir: Path
    org_keys: dict[str, PrivateKey]
    app: Any
    server: Any = None
    thread: threading.Thread | None = None

    def client(self, org: str) -> Any:
        from chain.sdk import Client
        return Client(self.url, "main", key=self.org_keys[org], timeout_s=20)

    def stop_gateway(self) -> None:
        from tests.chain.gateway.conftest import stop_server
        stop_server(self.server, self.thread)
        self.server = self.thread = None

    def start_gateway(self) -> None:
        self.server, self.thread = _serve_on(self.app, self.port)

    def register_device(self, label: str, org: str = ORG, roles: tuple[str, ...] = ("MEMBER",)) -> tuple[str, PrivateKey]:
        """Issue a device certificate from the organisation's CA for a fresh key and register it on chain."""
        from chain.ca import CAStore, parse_certificates
        from chain.ledger.permissions import RolePolicy
        from chain.sdk.operations import RegisterUser
        key = self.admin.suite.generate_keypair().private
        store = CAStore.open(self.ca_dir)
        record = store.issue(org, "device", label, ca_password=PASSWORD, public_key=key.public_key())
        der = parse_certificates((self.ca_dir / record.cert_file).read_bytes())[0].der
        outcome = self.admin.send([RegisterUser(der, roles, RolePolicy.UNION)])
        assert outcome["receipt"]["code_name"] == "SUCCESS", outcome
        return self.admin.suite.address_of(key.public_key()).__str__(), key

    def set_state(self, address: str, state: str) -> None:
        from chain.crypto import Address
        from chain.ledger.model import EntityState
        from chain.ledger.operations import SetUserState
        outcome = self.admin.send([SetUserState(Address.parse(address).encode(), EntityState[state])])
        assert outcome["receipt"]["code_name"] == "SUCCESS", outcome


def _serve_on(app: Any, port: int) -> tuple[Any, threading.Thread]:
    server = create_server(app, host="127.0.0.1", port=port, threads=16, channel_timeout=60)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


def start_chain(base: Path) -> Iterator[ChainStack]:
    """A single-validator node (real process, LevelDB), the gateway, two organisations onboarded, the device log
    contract deployed; yields the stack and stops everything."""
    from chain.ca import CAStore
    from chain.crypto.keystore import load_key
    from chain.gateway import GatewayConfig, create_app
    from chain.node.devsetup import init_node_dir
    from chain.sdk import Client
    from chain.sdk.onboarding import ensure_member_role, onboard, trust_root
    from chain.sdk.operations import ContractPolicy
    from iot_bridge.contract import deploy
    from tests.chain.node.conftest import NodeProcess, free_port

    port = free_port()
    config = init_node_dir(base / "node", suite="classic", ledgers=["main"], port=port, password=PASSWORD,
                           scrypt_n=2**10)
    custody = base / "custody"
    custody.mkdir()
    node = NodeProcess(config, port, base / "node.log")
    node.start()
    try:
        app = create_app(GatewayConfig([f"127.0.0.1:{port}"], custody, PASSWORD))
        gateway_port = random_loopback_port()  # below the ephemeral range: no client socket takes it while stopped
        server, thread = _serve_on(app, gateway_port)
        url = f"http://127.0.0.1:{gateway_port}"
        stack: ChainStack | None = None
        try:
            admin_key = load_key(base / "node" / "keys" / "admin.key", PASSWORD)
            admin = Client(url, "main", key=admin_key)
            CAStore.init(base / "ca", suite="classic", consortium="iot-test", password=PASSWORD, scrypt_n=2**10)
            trust_root(admin, base / "ca")
            ensure_member_role(admin)
            keys = {org: onboard(admin, base / "ca", PASSWORD, org, base / "keys" / f"{org}.key", PASSWORD)
                    for org in (ORG, OTHER_ORG)}
            admin_org = admin.user(admin.address)["participant"]
            deploy(admin, policy=ContractPolicy(1, (admin_org,)))
            stack = ChainStack(url, gateway_port, admin, base / "ca", keys, app, server, thread)
            yield stack
        finally:
            app.extensions["gateway"].close()
            if stack is None or stack.server is not None:
                from tests.chain.gateway.conftest import stop_server
                stop_server(stack.server if stack else server, stack.thread if stack else thread)
    finally:
        node.stop()
