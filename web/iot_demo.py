"""`make run`'s IoT part: a refrigerated truck's temperature logger reports over MQTT through the bridge.

On first run the logistics firm registers the logger on chain (a `device`
certificate from its CA for the logger's own key), a second pallet of tea is
packed, shipped to the logistics firm and received, and the logger is attached
to it (allowed range 2..8 °C). Every run starts a private Mosquitto on a
loopback port and the bridge (the same code as `python -m iot_bridge`), and the
logger publishes a few signed readings, one of them an excursion: they reach
the chain through the bridge's outbox, show on the pallet's items' pages and
raise an Alert event. Without Mosquitto installed the rest of the demo runs and
this part says how to add it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from apps.traceability.epcis import event_from_fields, to_document
from apps.traceability.service import TraceService
from apps.traceability.identifiers import Gln, Gtin, Sgtin, sgtin_epc_uri
from apps.traceability.store import Code, Item
from chain.sdk import Client, PrivateKey, load_key, save_key
from chain.sdk.onboarding import register_device
from iot_bridge.config import parse_config
from iot_bridge.local_broker import BrokerUnavailable, LocalBroker, free_loopback_port
from iot_bridge.service import BridgeService
from iot_bridge.simulator import DevicePublisher, SequenceState, SimDevice, sign_messages

log = logging.getLogger(__name__)

BROKER_PORT = 1884
BRIDGE_HTTP_PORT = 9108
LOGGER_LABEL = "truck-7-logger"
PALLET = "urn:epc:id:sscc:0614141.1000000002"
KEY_PASSWORD_ENV = "CHAIN_DEMO_IOT_PASSWORD"


@dataclass
class IotDemo:
    """What runs for the IoT part, to be stopped with the demo."""

    broker: LocalBroker
    bridge: BridgeService
    on_truck: Code

    def stop(self) -> None:
        """Stop the bridge (it drains what it can), then the broker."""
        self.bridge.stop()
        self.broker.stop()


def start_iot(service: TraceService, directory: Path, password: bytes, gateway_url: str, admin: Client, carrier: str,
              brand: str, tea: str, say: Callable[[str], None]) -> IotDemo | None:
    """Broker, bridge and a logger on a truck; None (after saying why) if Mosquitto is not available."""
    home = directory / "iot"
    home.mkdir(exist_ok=True)
    broker = LocalBroker(home / "broker", free_loopback_port(BROKER_PORT))
    try:
        broker.start()
    except BrokerUnavailable as exc:
        say(f"   IoT bridge   not started: {exc}")
        return None
    logger_key = _logger(directory, password, admin, carrier)
    address = str(admin.suite.address_of(logger_key.public_key()))
    on_truck = _pallet_on_truck(service, brand, carrier, tea)
    service.assign_device(carrier, address, PALLET, "2", "8")
    env = {KEY_PASSWORD_ENV: password.decode()}
    http_port = free_loopback_port(BRIDGE_HTTP_PORT)
    config = parse_config({
        "broker": {"port": broker.port, "client_id": "demo-bridge"},
        "outbox": {"path": str(home / "outbox.sqlite")},
        "gateway": {"url": gateway_url, "ledger": "main"},
        "organisations": {carrier: {"key_file": str(directory / "trace-keys" / f"{carrier}.key"),
                                    "password_env": KEY_PASSWORD_ENV}},
        "mapper": {"spec": "apps.traceability.iot:mapper",
                   "options": {"database": str(service.store.engine.url), "gateway": gateway_url, "ledger": "main"}},
        "http": {"listen": f"127.0.0.1:{http_port}"},
    }, home, env)
    bridge = BridgeService(config, env=env)
    bridge.start()
    demo = IotDemo(broker, bridge, on_truck)
    try:
        report = _drive(SimDevice(logger_key, carrier), broker.port, home, bridge)
    except Exception:
        demo.stop()
        raise
    service.sync()
    say("== IoT: a truck's temperature logger (a device registered on chain) -> MQTT -> the bridge -> the chain")
    say(f"   broker       {broker.url} (publish to trace/{carrier}/{address}/events; docs/iot-operations.md)")
    say(f"   bridge       http://127.0.0.1:{http_port}/health and /metrics: {report}")
    say(f"   item on the truck    {_item_url(service, on_truck)} (readings 2..8 °C, one excursion raised an Alert)")
    return demo


def _logger(directory: Path, password: bytes, admin: Client, carrier: str) -> PrivateKey:
    """The logger's key (its own; only its certificate is registered), created and registered on first run."""
    key_file = directory / "iot" / f"{LOGGER_LABEL}.key"
    if key_file.exists():
        return load_key(key_file, password)
    key = admin.suite.generate_keypair().private
    register_device(admin, directory / "ca", password, carrier, LOGGER_LABEL, key.public_key())
    save_key(key_file, key, password, label=LOGGER_LABEL, scrypt_n=2**12)
    return key


def _pallet_on_truck(service: TraceService, brand: str, carrier: str, tea: str) -> Code:
    """Six more items of the demo tea, packed on a pallet, shipped to the logistics firm and received (once)."""
    items = service.store.codes(tea, "L2611", limit=6, offset=6)
    if service.store.get(Item, f"sgtin:{tea}.{items[0].serial}") is not None:
        return items[0]
    epcs = [sgtin_epc_uri(Sgtin(Gtin.parse(c.gtin), c.serial), 7) for c in items]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    service.capture(brand, to_document([
        event_from_fields("ObjectEvent", action="ADD", event_time=now, epcs=epcs, biz_step="commissioning"),
        event_from_fields("AggregationEvent", action="ADD", event_time=now, parent_id=PALLET, child_epcs=epcs,
                          biz_step="packing"),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=now, epcs=[PALLET], biz_step="shipping",
                          destinations=[("owning_party", Gln.parse(service.party(carrier).gln))]),
    ]))
    service.capture(carrier, to_document([
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=now, epcs=[PALLET], biz_step="receiving"),
    ]))
    return items[0]


def _drive(device: SimDevice, port: int, home: Path, bridge: BridgeService, timeout_s: float = 60.0) -> str:
    """Publish five readings (the fourth an excursion) and wait until the bridge has them on chain."""
    seqs = SequenceState(home / "sequences.json").reserve(device.address, 5)
    messages = sign_messages(device, list(seqs), "cold-chain", excursion_at=3)
    if not bridge.wait_connected(timeout_s):  # it reads the device registry first
        return f"the bridge did not connect to the broker: {bridge.error or 'no answer'}"
    publisher = DevicePublisher(device.org, device.address, port=port, client_id=f"demo-{device.address[:12]}")
    try:
        publisher.connect()
        pending = [(publisher.correlation(seq), payload) for seq, payload in messages]
        correlations = [c for c, _ in pending]
        for _ in range(5):  # a device re-sends what got no answer (same bytes: at worst a duplicate)
            publisher.publish_many(pending)
            report = publisher.wait_answers(correlations, timeout_s / 5)
            pending = [(c, p) for c, p in pending if c not in publisher.answers]
            if not pending:
                break
    finally:
        publisher.close()
    deadline = time.monotonic() + timeout_s
    while True:
        counts = bridge.outbox.counts()
        if not counts.get("pending") and not counts.get("submitted"):
            answers = report.as_dict()
            return (f"{answers['accepted']} readings accepted ({answers['duplicate']} duplicates), "
                    f"{counts.get('committed', 0)} committed in all")
        if time.monotonic() > deadline:
            return f"still draining: {counts}"
        time.sleep(0.2)


def _item_url(service: TraceService, code: Code) -> str:
    return f"{service.config.scheme}://{service.config.resolver}/01/{code.gtin}/10/{code.lot}/21/{code.serial}"
