"""IoT devices feed the traceability app: readings land on the assigned pallet, excursions raise alerts, scanner events obey the rules.

The whole path is real: a device registered on chain for the logistics firm
signs COSE messages, the bridge's intake verifies and stores them in its
outbox, the drainer anchors them through the gateway with the traceability
mapper (loaded by name, as the bridge's configuration does), and the consumer
page shows the result after the read model syncs from the chain.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from apps.traceability.errors import TraceError
from apps.traceability.iot import device_uri, reading_event
from apps.traceability.store import Code
from chain.sdk import Client, PrivateKey
from chain.sdk.onboarding import register_device
from iot_bridge.devices import DeviceRegistry
from iot_bridge.drain import Drainer
from iot_bridge.intake import Intake
from iot_bridge.mapping import load_mapper
from iot_bridge.message import DeviceMessage, Reading, sign_message
from iot_bridge.outbox import Outbox, OutboxRow
from tests.chain.node.conftest import PASSWORD
from web.app import create_app

from .stack import BRAND, CARRIER, TraceStack
from .test_service import document, event, urn

GTIN = "00614141107353"
PALLET = "urn:epc:id:sscc:0614141.1000000888"
PALLET_KEY = "sscc:106141410000008886"


@pytest.fixture(scope="module")
def pallet(trace: TraceStack) -> list[Code]:
    """Three items packed on a pallet by the brand, shipped to and received by the carrier."""
    service = trace.service
    service.register_product(BRAND, GTIN, "0614141", "Chilled milk 1 l")
    service.issue_batch(BRAND, GTIN, "M1", 20, "301231")
    inside = trace.store.codes(GTIN, "M1", limit=3)
    pack = {"type": "AggregationEvent", "eventTime": "2026-11-25T07:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "parentID": PALLET, "childEPCs": [urn(c) for c in inside], "action": "ADD", "bizStep": "packing"}
    service.capture(BRAND, document(*[event("commissioning", [urn(c)], "ADD", minute=i) for i, c in enumerate(inside)],
                                    pack, event("shipping", [PALLET], to=CARRIER, minute=30)))
    service.capture(CARRIER, document(event("receiving", [PALLET], minute=40)))
    return inside


class Bridge:
    """The bridge's core pipeline in-process: intake -> outbox -> drainer with the traceability mapper."""

    def __init__(self, trace: TraceStack, base: Path) -> None:
        self.outbox = Outbox(base / "outbox.db")
        self.intake = Intake(self.outbox, DeviceRegistry(Client(trace.url, "main")))
        self.refused: list[tuple[OutboxRow, str]] = []
        mapper = load_mapper("apps.traceability.iot:mapper", database=str(trace.store.engine.url),
                             gateway=trace.url, ledger="main")
        keys = trace.service.config.keys
        self.drainer = Drainer(self.outbox, mapper, lambda org: Client(trace.url, "main", key=keys[org]),
                               on_refused=lambda row, why: self.refused.append((row, why)))

    def publish(self, org: str, key: PrivateKey, messages: list[DeviceMessage]) -> list[Any]:
        return self.publish_signed(org, messages[0].device, [sign_message(key, m) for m in messages])

    def publish_signed(self, org: str, device: str, payloads: list[bytes]) -> list[Any]:
        return self.intake.accept_many([(f"trace/{org}/{device}/events", p) for p in payloads])

    def counts(self) -> dict[str, int]:
        """Outbox rows by status (statuses with none left out)."""
        return {status: n for status, n in self.outbox.counts().items() if n}

    def drain(self, timeout_s: float = 60.0) -> None:
        """Run the drainer until nothing is pending or in flight."""
        deadline = time.monotonic() + timeout_s
        while self.counts().keys() & {"pending", "submitted"}:
            assert time.monotonic() < deadline, f"the outbox did not drain: {self.counts()}, {self.drainer.last_error}"
            if not self.drainer.run_once():
                time.sleep(0.05)


@pytest.fixture(scope="module")
def logger(trace: TraceStack) -> tuple[str, PrivateKey]:
    """A temperature logger of the carrier, registered on chain with a device certificate."""
    key = trace.admin.suite.generate_keypair().private
    address = register_device(trace.admin, trace.base / "ca", PASSWORD.encode(), CARRIER, "truck-7-logger",
                              key.public_key())
    return address, key


@pytest.fixture(scope="module")
def page(trace: TraceStack) -> FlaskClient:
    return create_app(trace.url, "main", trace=trace.service).test_client()


def _reading(device: str, seq: int, value: str, kind: str = "temperature", uom: str = "CEL") -> DeviceMessage:
    return DeviceMessage(device, seq, f"2026-11-25T08:{seq:02d}:00.000Z", reading=Reading(kind, value, uom))


def test_readings_land_on_the_pallet_and_an_excursion_raises_an_alert(trace: TraceStack, pallet: list[Code],
                                                                      logger: tuple[str, PrivateKey],
                                                                      page: FlaskClient, tmp_path: Path) -> None:
    address, key = logger
    trace.service.assign_device(CARRIER, address, PALLET, "2", "8")
    bridge = Bridge(trace, tmp_path)
    height = trace.admin.status()["height"]
    verdicts = bridge.publish(CARRIER, key, [_reading(address, 1, "4.5"), _reading(address, 2, "6.25"),
                                             _reading(address, 3, "9.5"), _reading(address, 4, "71", "humidity", "A93")])
    assert [v.status for v in verdicts] == ["accepted"] * 4, verdicts
    bridge.drain()
    assert bridge.refused == [] and bridge.counts().get("committed") == 4, (bridge.refused, bridge.counts())
    trace.service.sync()
    html = page.get(f"/01/{pallet[0].gtin}/10/M1/21/{pallet[0].serial}").get_data(as_text=True)
    assert "3 temperature readings, 4.5 to 9.5 °C; 1 outside the allowed range" in html, html[:3000]
    assert "RelativeHumidity 71 A93" in html
    alerts = [item for _, item in Client(trace.url, "main").events(height, ("event",)) if item.get("topic") == "Alert"]
    assert len(alerts) == 1, alerts
    assert alerts[0]["fields"]["epc"] == PALLET_KEY and "9.5 CEL outside 2..8" in alerts[0]["fields"]["message"]


def test_a_redelivered_reading_is_anchored_once(trace: TraceStack, pallet: list[Code],
                                                logger: tuple[str, PrivateKey], tmp_path: Path) -> None:
    address, key = logger
    trace.service.assign_device(CARRIER, address, PALLET, "2", "8")
    bridge = Bridge(trace, tmp_path)
    signed = [sign_message(key, _reading(address, 30, "5"))]
    assert bridge.publish_signed(CARRIER, address, signed)[0].status == "accepted"
    assert bridge.publish_signed(CARRIER, address, signed)[0].status == "duplicate"  # the broker redelivers it
    bridge.drain()
    assert bridge.counts() == {"committed": 1}, bridge.outbox.counts()


def test_a_scanner_event_obeys_the_contract_rules(trace: TraceStack, pallet: list[Code], logger: tuple[str, PrivateKey],
                                                  tmp_path: Path) -> None:
    """The carrier's gate scanner may observe its pallet; it may not ship an item packed on that pallet."""
    address, key = logger
    bridge = Bridge(trace, tmp_path)
    gate = {"type": "ObjectEvent", "eventTime": "2026-11-25T09:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [PALLET], "action": "OBSERVE", "bizStep": "arriving"}
    ship = {**gate, "eventTime": "2026-11-25T09:05:00.000Z", "epcList": [urn(pallet[1])], "bizStep": "shipping"}
    messages = [DeviceMessage(address, 40, gate["eventTime"], event=gate),
                DeviceMessage(address, 41, ship["eventTime"], event=ship)]
    assert [v.status for v in bridge.publish(CARRIER, key, messages)] == ["accepted", "accepted"]
    bridge.drain()
    assert bridge.counts() == {"committed": 1, "refused": 1}, bridge.outbox.counts()
    (row, why), = bridge.refused
    assert row.seq == 41 and f"is packed in {PALLET_KEY}" in why, why


def test_readings_of_an_unassigned_device_or_an_unknown_kind_are_refused_with_the_reason(
        trace: TraceStack, pallet: list[Code], tmp_path: Path) -> None:
    key = trace.admin.suite.generate_keypair().private
    address = register_device(trace.admin, trace.base / "ca", PASSWORD.encode(), CARRIER, "spare-logger",
                              key.public_key())
    bridge = Bridge(trace, tmp_path)
    assert bridge.publish(CARRIER, key, [_reading(address, 1, "5")])[0].status == "accepted"
    bridge.drain()
    (row, why), = bridge.refused
    assert "not assigned to a shipment" in why
    trace.service.assign_device(CARRIER, address, PALLET, "-25", "-18")
    bridge.publish(CARRIER, key, [_reading(address, 2, "5", kind="radiation", uom="P1")])
    bridge.drain()
    assert "radiation" in bridge.refused[-1][1] and bridge.counts().get("committed") is None


def test_assigning_a_device_checks_owner_shipment_and_range(trace: TraceStack, logger: tuple[str, PrivateKey]) -> None:
    address, _ = logger
    with pytest.raises(TraceError) as info:
        trace.service.assign_device(BRAND, address, PALLET, "2", "8")
    assert info.value.field == "device"
    with pytest.raises(TraceError) as info:
        trace.service.assign_device(CARRIER, address, "urn:epc:id:sscc:0614141.12", "2", "8")
    assert info.value.field == "epc"
    for low, high, field in (("8", "2", "low"), ("two", "8", "low"), ("2", "8.1234567", "high")):
        with pytest.raises(TraceError) as info:
            trace.service.assign_device(CARRIER, address, PALLET, low, high)
        assert info.value.field == field
    with pytest.raises(TraceError) as info:
        trace.service.assign_device(CARRIER, "9L5NotADevice", PALLET, "2", "8")
    assert info.value.field == "device"


def test_the_reading_event_names_the_device_and_flags_the_alarm(trace: TraceStack, logger: tuple[str, PrivateKey]) -> None:
    address, _ = logger
    assignment = trace.service.assign_device(CARRIER, address, PALLET, "2", "8")
    mapped = reading_event(address, 7, "2026-11-25T08:07:00.000Z", Reading("temperature", "1.5", "CEL"), assignment)
    metadata = mapped.event["sensorElementList"][0]["sensorMetadata"]
    assert metadata["deviceID"] == device_uri(address) and mapped.event["epcList"] == [PALLET]
    assert mapped.event["sensorElementList"][0]["sensorReport"][0]["exception"] == "ALARM_CONDITION"
    assert mapped.alert.startswith("temperature 1.5 CEL outside 2..8")
    within = reading_event(address, 8, "2026-11-25T08:08:00.000Z", Reading("temperature", "2", "CEL"), assignment)
    assert within.alert == "" and "exception" not in within.event["sensorElementList"][0]["sensorReport"][0]


def test_a_device_whose_certificate_is_revoked_on_chain_is_refused(trace: TraceStack, tmp_path: Path) -> None:
    """Revoking the certificate (the chain's CRL), not the user record, is enough for the bridge to refuse it."""
    from chain.sdk.operations import RevokeCertificate
    key = trace.admin.suite.generate_keypair().private
    address = register_device(trace.admin, trace.base / "ca", PASSWORD.encode(), CARRIER, "stolen-logger",
                              key.public_key())
    bridge = Bridge(trace, tmp_path)
    assert bridge.publish(CARRIER, key, [_reading(address, 1, "5")])[0].status == "accepted"
    user = trace.admin.user(address)
    assert user["certificate_revoked"] is False
    outcome = trace.admin.send([RevokeCertificate(bytes.fromhex(user["issuer_fingerprint"]), bytes.fromhex(user["serial"]),
                                                  "key compromised")])
    assert outcome["receipt"]["code_name"] == "SUCCESS", outcome
    assert trace.admin.user(address)["certificate_revoked"] is True
    bridge.intake.devices.refresh()
    verdict, = bridge.publish(CARRIER, key, [_reading(address, 2, "5")])
    assert (verdict.status, verdict.reason) == ("refused", "revoked_device"), verdict
