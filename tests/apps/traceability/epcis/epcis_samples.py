"""What the EPCIS tests share: where the GS1 reference files are, the official JSON schema, and event strategies.

The GS1 EPCIS 2.0 artefacts (JSON schema, example documents) live outside the
repository in ../shared/epcis. Tests that need them skip with a message when
the folder is absent, except under CI=true, where its absence is a failure.
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from apps.traceability.epcis.timestamps import zone_offset

SHARED_EPCIS = Path(__file__).resolve().parents[4].parent / "shared" / "epcis"
MISSING = "(GS1 reference files missing)"
#: The namespace the sample events' extensions use.
PREFIXES = {"example": "https://ns.example.com/epcis/"}


def reference_dir() -> Path:
    """The ../shared/epcis folder; skip (fail under CI=true) when it is absent."""
    if SHARED_EPCIS.is_dir():
        return SHARED_EPCIS
    message = f"the GS1 EPCIS reference files are not at {SHARED_EPCIS}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: they must be present)", pytrace=False)
    pytest.skip(message)


def example_names() -> list[str]:
    """The example documents under ../shared/epcis/JSON (relative paths), or one placeholder when absent."""
    folder = SHARED_EPCIS / "JSON"
    if not folder.is_dir():
        return [MISSING]
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.jsonld"))


def read_example(name: str) -> bytes:
    """The bytes of one example document (skips/fails when the reference files are absent)."""
    return (reference_dir() / "JSON" / name).read_bytes()


# --- the official JSON schema, $refs resolved from local files only ----------------------------------------------

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
            return False
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI.match(value))

    return checker


def schema_validators() -> list[tuple[str, Any]]:
    """Draft-7 validators for the official EPCIS 2.0 JSON schema: the single-file one and the split one."""
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT7

    root = reference_dir()
    checker = _format_checker()
    whole = json.loads((root / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    resources = []
    for path in sorted((root / "JSON-Schema").rglob("*.json")):
        if "test" in path.relative_to(root / "JSON-Schema").parts:
            continue
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)))

    def no_network(uri: str) -> Any:
        raise NoSuchResource(ref=uri)

    registry = Registry(retrieve=no_network).with_resources(resources)
    split = json.loads((root / "JSON-Schema" / "EPCIS-JSON-Schema-root.json").read_text(encoding="utf-8"))
    return [
        ("EPCIS-JSON-Schema.json", Draft7Validator(whole, format_checker=checker)),
        ("JSON-Schema/EPCIS-JSON-Schema-root.json", Draft7Validator(split, registry=registry, format_checker=checker)),
    ]


# --- Hypothesis strategies for valid events ----------------------------------------------------------------------

#: Serial characters: GS1 character set 82 minus the ones that need escaping, plus a few that do.
_SERIAL_CHARS = "ABCXYZabcxyz0123456789-._" + "/&!"
serials = st.text(_SERIAL_CHARS, min_size=1, max_size=12)
_ZONES = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((0, 0), (1, 0), (-6, 0), (8, 0), (5, 30), (-3, -30))]


def _escape(serial: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else f"%{ord(c):02X}" for c in serial)


@st.composite
def epcs(draw: st.DrawFn) -> str:
    """An item or case identifier, as an EPC URN or a Digital Link."""
    serial = draw(serials)
    return draw(st.sampled_from([
        f"urn:epc:id:sgtin:0614141.107346.{_escape(serial)}",
        f"https://id.gs1.org/01/09506000134352/21/{_escape(serial)}",
        f"urn:epc:id:sscc:0614141.{draw(st.integers(0, 99_999_999)):010d}",
    ]))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """An EPCIS timestamp with a time zone and 0-6 fractional digits."""
    moment = draw(st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 31), timezones=st.sampled_from(_ZONES)))
    digits = draw(st.integers(0, 6))
    fraction = "." + f"{moment.microsecond:06d}"[:digits] if digits else ""
    zone = zone_offset(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + ("Z" if zone == "+00:00" else zone)


decimals = st.decimals(min_value=Decimal("-999.999"), max_value=Decimal("9999.999"), places=3,
                       allow_nan=False, allow_infinity=False)
BIZ_STEPS = ("shipping", "receiving", "commissioning", "packing", "inspecting", "storing")
DISPOSITIONS = ("in_transit", "in_progress", "active", "recalled", "sellable_accessible")
LOCATIONS = ("urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/9506000134307",
             "urn:epc:id:sgln:4012345.00005.12")
PARTIES = ("urn:epc:id:pgln:0614141.00777", "https://id.gs1.org/417/9506000134307")


@st.composite
def sensor_elements(draw: st.DrawFn) -> dict[str, Any]:
    """A sensor element with 1-3 readings."""
    reports = []
    for _ in range(draw(st.integers(1, 3))):
        report: dict[str, Any] = {"type": draw(st.sampled_from(["Temperature", "gs1:RelativeHumidity", "Mass"])),
                                  "value": draw(decimals)}
        if draw(st.booleans()):
            report["uom"] = draw(st.sampled_from(["CEL", "P1", "KGM"]))
        if draw(st.booleans()):
            report["time"] = draw(timestamps())
        reports.append(report)
    element: dict[str, Any] = {"sensorReport": reports}
    if draw(st.booleans()):
        element["sensorMetadata"] = {"deviceID": "urn:epc:id:giai:4000001.111", "time": draw(timestamps())}
    return element


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ObjectEvent, AggregationEvent or TransformationEvent as a JSON object (numbers as Decimal)."""
    kind = draw(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent"]))
    time = draw(timestamps())
    event: dict[str, Any] = {"type": kind, "eventTime": time,
                             "eventTimeZoneOffset": draw(st.sampled_from(["+00:00", "+01:00", "-06:00", "+08:00"]))}
    ids = st.lists(epcs(), min_size=1, max_size=4, unique=True)
    action = draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    if kind == "ObjectEvent":
        event["epcList"] = draw(ids)
        if draw(st.booleans()):
            event["quantityList"] = [{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1",
                                      "quantity": draw(decimals.filter(lambda d: d >= 0)), "uom": "KGM"}]
        event["action"] = action
        if action == "ADD" and draw(st.booleans()):
            event["ilmd"] = {"example:lot": draw(serials), "cbvmda:countryOfOrigin": "CN"}
    elif kind == "AggregationEvent":
        event["parentID"] = f"urn:epc:id:sscc:0614141.{draw(st.integers(0, 9_999_999)):010d}"
        event["childEPCs"] = draw(ids)
        event["action"] = action
    else:
        event["inputEPCList"] = draw(ids)
        event["outputEPCList"] = draw(ids)
    event["bizStep"] = draw(st.sampled_from(BIZ_STEPS))
    if draw(st.booleans()):
        event["disposition"] = draw(st.sampled_from(DISPOSITIONS))
    event["readPoint"] = {"id": draw(st.sampled_from(LOCATIONS))}
    if draw(st.booleans()):
        event["bizLocation"] = {"id": draw(st.sampled_from(LOCATIONS))}
    if draw(st.booleans()):
        event["bizTransactionList"] = [{"type": t, "bizTransaction": f"urn:epcglobal:cbv:bt:0614141073467:{n}"}
                                       for t, n in draw(st.lists(st.tuples(st.sampled_from(["po", "inv", "desadv"]),
                                                                           st.integers(1, 999)),
                                                                 min_size=1, max_size=3, unique=True))]
    for name, member in (("sourceList", "source"), ("destinationList", "destination")):
        if draw(st.booleans()):
            event[name] = [{"type": "owning_party", member: draw(st.sampled_from(PARTIES))},
                           {"type": "location", member: draw(st.sampled_from(LOCATIONS))}]
    if draw(st.booleans()):
        event["sensorElementList"] = draw(st.lists(sensor_elements(), min_size=1, max_size=2))
    if draw(st.booleans()):
        event["example:note"] = draw(st.text("abc XYZ-1", min_size=1, max_size=8).filter(lambda s: s.strip()))
    return event
