"""The traceability app's mapping of IoT device messages onto its contract, loaded by the bridge by name.

Configure the bridge with `mapper.spec = "apps.traceability.iot:mapper"` and
`mapper.options = {database = "sqlite:///trace.db", gateway = "...", ledger = "main"}`
(iot_bridge never imports apps/: it loads this module from its configuration).

- A device's EPCIS event (a production-line scanner's commissioning, a gate's
  receiving) is validated as EPCIS 2.0 and anchored like a captured one: the
  same contract rules, signed by the device's organisation.
- A sensor reading is anchored on the shipment (or item) the device is
  assigned to (TraceService.assign_device) as an EPCIS 2.0 ObjectEvent,
  action OBSERVE, bizStep sensor_reporting, with one sensorReport whose
  sensorMetadata names the device; so the consumer page's timeline and cold
  chain summary show it. A reading outside the assignment's range carries
  `exception: ALARM_CONDITION` and raises the contract's Alert event.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

from apps.traceability.contract import CONTRACT_NAME
from apps.traceability.epcis import EpcisError, parse_document
from apps.traceability.epcis.vocabulary import EPCIS_CONTEXT
from apps.traceability.errors import TraceError
from apps.traceability.service import Party, TraceConfig, TraceService
from apps.traceability.store import DeviceAssignment, TraceStore
from iot_bridge.errors import INVALID_EVENT, BridgeError
from iot_bridge.mapping import Invocation, MappedInput
from iot_bridge.message import Reading

#: Reading kinds (device message) -> CBV 2.0 sensor measurement types.
SENSOR_TYPES = {
    "temperature": "gs1:Temperature",
    "humidity": "gs1:RelativeHumidity",
    "pressure": "gs1:AbsolutePressure",
    "illuminance": "gs1:Illuminance",
    "shock": "gs1:Acceleration",
}
ALARM = "ALARM_CONDITION"


def device_uri(address: str) -> str:
    """The URI naming a chain-registered device in EPCIS sensorMetadata.deviceID."""
    return f"urn:consortium-chain:device:{address}"


@dataclass(frozen=True)
class MappedReading:
    """A reading as an EPCIS event, and the alert it raises ('' if in range)."""

    event: dict[str, Any]
    alert: str


def reading_event(device: str, seq: int, time: str, reading: Reading, assignment: DeviceAssignment) -> MappedReading:
    """The EPCIS ObjectEvent that anchors one reading on the device's assigned shipment."""
    kind = SENSOR_TYPES.get(reading.kind)
    if kind is None:
        raise TraceError(f"reading kind {reading.kind!r} is not one of {', '.join(sorted(SENSOR_TYPES))}", "reading.kind")
    value = Decimal(reading.value)
    report: dict[str, Any] = {"type": kind, "value": _json_number(value), "uom": reading.uom}
    alert = ""
    if reading.uom == assignment.uom and not Decimal(assignment.low) <= value <= Decimal(assignment.high):
        report["exception"] = ALARM
        alert = (f"{reading.kind} {reading.value} {reading.uom} outside {assignment.low}..{assignment.high} "
                 f"on {assignment.epc} (device {device}, seq {seq})")
    event = {"@context": [EPCIS_CONTEXT], "type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00",
             "epcList": [assignment.epc_uri], "action": "OBSERVE", "bizStep": "sensor_reporting",
             "sensorElementList": [{"sensorMetadata": {"time": time, "deviceID": device_uri(device)},
                                    "sensorReport": [report]}]}
    return MappedReading(event, alert)


def _json_number(value: Decimal) -> int | float:
    """An EPCIS JSON number (the document is text in the transaction; the contract never sees a float)."""
    return int(value) if value == value.to_integral_value() else float(value)


class TraceMapper:
    """MapperAPI of the traceability app: device messages -> `record` calls of the traceability contract."""

    def __init__(self, service: TraceService) -> None:
        self.service = service

    def map_batch(self, events: Sequence[MappedInput]) -> list[Invocation | BridgeError]:
        """One `record` invocation per message, or the reason it cannot be anchored."""
        assignments: dict[str, DeviceAssignment | None] = {}  # one read-model query per device per batch
        return [self._map(item, assignments) for item in events]

    def _map(self, item: MappedInput, assignments: dict[str, DeviceAssignment | None]) -> Invocation | BridgeError:
        message, org = item.message, item.device.organisation
        try:
            alert = ""
            if message.event is not None:
                body: Mapping[str, Any] = message.event
            else:
                assert message.reading is not None
                if message.device not in assignments:
                    assignments[message.device] = self.service.device_assignment(message.device)
                assignment = assignments[message.device]
                if assignment is None:
                    raise TraceError(f"device {message.device} is not assigned to a shipment", "device")
                if assignment.org != org:
                    raise TraceError(f"device {message.device} is assigned by {assignment.org}, not {org}", "device")
                mapped = reading_event(message.device, message.seq, message.time, message.reading, assignment)
                body, alert = mapped.event, mapped.alert
            events = parse_document(body if "@context" in body else {"@context": [EPCIS_CONTEXT], **body})
            if len(events) != 1:
                raise TraceError("a device message carries exactly one event", "event")
            function, args = self.service.invocation(org, events[0])
        except (TraceError, EpcisError) as exc:
            where = getattr(exc, "field", "") or "event"
            return BridgeError(INVALID_EVENT, f"{where}: {exc}", where)
        if alert and function == "record":
            args[1] = {**args[1], "alert": alert}
        return Invocation(CONTRACT_NAME, function, args)


def mapper(database: str, gateway: str = "", ledger: str = "main", parties: str = "") -> TraceMapper:
    """The bridge's factory: the traceability read model at `database` (for assignments and item-code proofs).

    `parties` is an optional JSON file {name: {"label": ..., "gln": ..., "kind": ...}} so that
    shipping events from devices can name their receiving party by GLN.
    """
    known: dict[str, Party] = {}
    if parties:
        try:
            raw = json.loads(Path(parties).read_text())
            known = {name: Party(name, p.get("label", name), p["gln"], p.get("kind", "brand")) for name, p in raw.items()}
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"mapper option parties: cannot read {parties}: {exc}") from None
    config = TraceConfig(gateway=gateway, ledger=ledger, resolver="", parties=known)
    return TraceMapper(TraceService(config, TraceStore(database)))
