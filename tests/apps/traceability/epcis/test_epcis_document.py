"""EPCIS documents in and out: official-schema-valid output, exact round trips, the form builder, error declarations."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.traceability.epcis import (
    EpcisError,
    EpcisEvent,
    SensorReading,
    dumps,
    error_declaration,
    event_from_fields,
    event_hash,
    parse_document,
    to_document,
)
from apps.traceability.identifiers import Gln, Gtin, Sgtin, Sscc

from .epcis_samples import PREFIXES, event_dicts, read_example, schema_validators

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_VALIDATORS: list[tuple[str, Any]] = []


def _official_schema_errors(document: dict[str, Any]) -> list[str]:
    """The official schema's complaints about the document as it reads once written out as JSON text."""
    if not _VALIDATORS:
        _VALIDATORS.extend(schema_validators())
    decoded = json.loads(dumps(document))
    return [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for name, validator in _VALIDATORS for e in validator.iter_errors(decoded)]


def _app_events() -> list[dict[str, Any]]:
    item = Sgtin(Gtin.parse("09506000134352"), "AB-1/2")
    return [
        event_from_fields("ObjectEvent", action="ADD", event_time="2024-05-01T08:00:00.000+08:00",
                          epcs=[item, "urn:epc:id:sgtin:0614141.107346.2017"], biz_step="commissioning",
                          disposition="active", read_point=Gln.parse("9506000134307"),
                          ilmd={"example:harvest": "2024-04-30"}),
        event_from_fields("AggregationEvent", action="ADD", event_time="2024-05-01T09:00:00+08:00",
                          parent_id=Sscc.parse("106141412345678908"), child_epcs=[item], biz_step="packing",
                          read_point="urn:epc:id:sgln:0614141.00777.0"),
        event_from_fields("TransformationEvent", event_time=datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc),
                          input_quantities=[("urn:epc:class:lgtin:4012345.012345.L1", "12.5", "KGM")],
                          output_epcs=["https://id.gs1.org/01/09506000134352/21/OUT-1"],
                          transformation_id="urn:epc:id:gdti:0614141.00001.77", biz_step="commissioning"),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time="2024-05-02T10:00:00.123+08:00",
                          epcs=["https://id.gs1.org/00/106141412345678908"], biz_step="shipping",
                          disposition="in_transit", read_point="https://id.gs1.org/414/9506000134307",
                          biz_location="9506000134307",
                          biz_transactions=[("po", "urn:epcglobal:cbv:bt:9506000134307:PO-7")],
                          sources=[("owning_party", "9506000134307"), ("location", "urn:epc:id:sgln:9506000.13430.0")],
                          destinations=[("owning_party", "urn:epc:id:pgln:0614141.00777")],
                          sensor_readings=[SensorReading("gs1:Temperature", "4.50", "CEL", "2024-05-02T09:59:00Z",
                                                         device_id="urn:epc:id:giai:4000001.111"),
                                           SensorReading("RelativeHumidity", 65, "P1")]),
    ]


def test_documents_of_app_events_satisfy_the_official_schema() -> None:
    events = _app_events()
    document = to_document(events, sender="urn:epc:id:sgln:9506000.13430.0", namespaces=PREFIXES)
    assert document["@context"][0] == "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    assert document["schemaVersion"] == "2.0" and document["type"] == "EPCISDocument"
    assert document["@context"][1] == PREFIXES
    assert _official_schema_errors(document) == []
    assert [e.raw for e in parse_document(dumps(document))] == events


def test_documents_rebuilt_from_every_example_satisfy_the_official_schema(example_file: str) -> None:
    decoded = json.loads(read_example(example_file), parse_float=Decimal)
    events = parse_document(decoded)
    document = to_document(events, creation_date="2024-05-01T00:00:00.000Z")
    assert _official_schema_errors(document) == []
    again = parse_document(dumps(document).encode())
    assert again == events
    assert [event_hash(e) for e in again] == [event_hash(e) for e in events]


@SETTINGS
@given(st.lists(event_dicts(), min_size=1, max_size=4))
def test_round_trip_of_generated_events(raws: list[dict[str, Any]]) -> None:
    events = [EpcisEvent.from_json(raw, PREFIXES) for raw in raws]
    document = to_document(events)
    assert parse_document(document) == events
    assert parse_document(dumps(document).encode("utf-8")) == events
    assert _official_schema_errors(document) == []


def test_the_parsed_model() -> None:
    events = parse_document(to_document(_app_events(), namespaces=PREFIXES))
    commissioned, packed, transformed, shipped = events
    assert commissioned.type == "ObjectEvent" and commissioned.action == "ADD"
    assert commissioned.biz_step == "https://ref.gs1.org/cbv/BizStep-commissioning"
    assert commissioned.biz_step_name == "commissioning" and commissioned.disposition_name == "active"
    assert commissioned.epc_list[0] == "https://id.gs1.org/01/09506000134352/21/AB-1%2F2"
    assert commissioned.ilmd == {"example:harvest": "2024-04-30"}
    assert commissioned.namespaces == (("example", "https://ns.example.com/epcis/"),)
    assert packed.parent_id == "https://id.gs1.org/00/106141412345678908" and packed.child_epcs
    assert transformed.action is None and transformed.input_quantity_list[0].quantity == Decimal("12.5")
    assert transformed.event_time == "2024-05-01T02:00:00.000Z" and transformed.event_time_zone_offset == "+00:00"
    assert shipped.event_time_zone_offset == "+08:00"
    assert [(s.type_name, s.id) for s in shipped.source_list] == [
        ("owning_party", "https://id.gs1.org/417/9506000134307"), ("location", "urn:epc:id:sgln:9506000.13430.0")]
    assert shipped.biz_location == "https://id.gs1.org/414/9506000134307"
    assert shipped.biz_transaction_list[0].type_name == "po"
    temperature, humidity = shipped.sensor_element_list[0].reports
    assert temperature.type == "https://gs1.org/voc/Temperature" and temperature.type_name == "Temperature"
    assert temperature.value == Decimal("4.50") and str(temperature.value) == "4.50" and temperature.uom == "CEL"
    assert temperature.device_id == "urn:epc:id:giai:4000001.111"
    assert humidity.value == 65 and humidity.time is None
    assert list(shipped.epcs()) == ["https://id.gs1.org/00/106141412345678908"]


def test_sensor_values_keep_their_digits_through_json_text() -> None:
    text = dumps(to_document(_app_events()[3:], creation_date="2024-05-01T00:00:00Z"))
    assert '"value":4.50' in text
    [event] = parse_document(text)
    assert str(event.sensor_element_list[0].reports[0].value) == "4.50"


@pytest.mark.parametrize("context", [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    ["https://gs1.github.io/EPCIS/epcis-context.jsonld", {"example": "https://ns.example.com/epcis/"}],
    [{"example": "https://ns.example.com/epcis/"}, "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
     {"ex2": {"@id": "https://ns.example.org/2/", "@prefix": True}}],
])
def test_context_variants_are_accepted(context: Any) -> None:
    document = to_document(_app_events()[1:2])
    document["@context"] = context
    [event] = parse_document(document)
    assert event.type == "AggregationEvent"


def test_a_query_document_and_a_single_event_are_read_too() -> None:
    event = _app_events()[0]
    query = {"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", PREFIXES],
             "type": "EPCISQueryDocument", "schemaVersion": "2.0", "creationDate": "2024-05-01T00:00:00Z",
             "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": [event]}}}}
    [from_query] = parse_document(json.dumps(query))
    single = {"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", PREFIXES], **event}
    [from_single] = parse_document(dumps(single))
    assert event_hash(from_query) == event_hash(from_single) == event_hash(event, PREFIXES)


def test_events_may_not_give_one_prefix_two_meanings() -> None:
    first, second = _app_events()[:2]
    other = EpcisEvent.from_json({**second, "example:x": "1"}, {"example": "https://elsewhere.example/"})
    with pytest.raises(EpcisError, match="prefix 'example'"):
        to_document([EpcisEvent.from_json(first, PREFIXES), other])


def test_documents_are_checked_on_the_way_out() -> None:
    bad = {**_app_events()[0], "bizStep": "shipped"}
    with pytest.raises(EpcisError) as info:
        to_document([bad])
    assert info.value.field == "epcisBody.eventList[0].bizStep"


@pytest.mark.parametrize("kwargs, field, message", [
    ({"event_type": "TransactionEvent"}, "type", "must be one of"),
    ({"epcs": ["urn:epc:id:sgtin:0614141.107346.1"]}, "action", "choose an action"),
    ({"action": "OBSERVE"}, "epcList", "at least one EPC"),
    ({"action": "SEE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"]}, "action", "is not ADD, OBSERVE or DELETE"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1", "pallet 7"]}, "epcList[1]", "not a URI"),
    ({"action": "OBSERVE", "epcs": ["https://example.com/about"]}, "epcList[0]", "names no GS1 key"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"], "biz_step": "shipped"}, "bizStep",
     "not a CBV bizStep"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"], "read_point": "9506000134308"},
     "readPoint", "check digit"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"],
      "read_point": "urn:epc:id:sgtin:0614141.107346.1"}, "readPoint", "is not a location"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"],
      "sources": [("owner", "9506000134307")]}, "sourceList[0].type", "not a CBV source/destination type"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"],
      "sensor_readings": [SensorReading("Temperature", 4.5, "CEL")]},
     "sensorElementList[0].sensorReport[0].value", "not float"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"],
      "sensor_readings": [SensorReading("Warmth", "4.5", "CEL")]},
     "sensorElementList[0].sensorReport[0].type", "not a GS1 measurement type"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"], "event_time": "2024-05-01 10:00"},
     "eventTime", "not a timestamp"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"], "event_time": datetime(2024, 5, 1)},
     "eventTime", "time zone"),
    ({"action": "OBSERVE", "epcs": ["urn:epc:id:sgtin:0614141.107346.1"], "ilmd": {"example:lot": "L1"}},
     "ilmd", "only allowed with action ADD"),
])
def test_form_fields_are_checked(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(EpcisError) as info:
        event_from_fields(**kwargs)
    assert info.value.field == field
    assert message in info.value.message


def test_aggregation_and_transformation_rules_reach_the_form() -> None:
    with pytest.raises(EpcisError) as info:
        event_from_fields("AggregationEvent", action="ADD", child_epcs=["urn:epc:id:sgtin:0614141.107346.1"])
    assert info.value.field == "parentID"
    with pytest.raises(EpcisError) as info:
        event_from_fields("TransformationEvent", action="ADD", output_epcs=["urn:epc:id:sgtin:0614141.107346.1"])
    assert info.value.field == "action"


def test_builder_writes_the_compact_json_forms() -> None:
    event = event_from_fields("ObjectEvent", action="observe", event_time="2024-05-01T10:00:00Z",
                              epcs=["urn:epc:id:sgtin:0614141.107346.1"],
                              biz_step="https://ref.gs1.org/cbv/BizStep-shipping",
                              disposition="urn:epcglobal:cbv:disp:in_transit",
                              sensor_readings=[SensorReading("https://gs1.org/voc/Temperature", Decimal("-18.0"))])
    assert (event["action"], event["bizStep"], event["disposition"]) == ("OBSERVE", "shipping", "in_transit")
    assert event["eventTimeZoneOffset"] == "+00:00"
    assert event["sensorElementList"] == [{"sensorReport": [{"type": "Temperature", "value": Decimal("-18.0")}]}]


def test_the_error_declaration_of_an_event() -> None:
    [original] = parse_document(to_document(_app_events()[3:]))
    declared_at = datetime(2024, 5, 3, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    declaration = error_declaration(original, "did_not_occur", ["urn:uuid:3f1c"], declaration_time=declared_at)
    assert declaration["eventID"] == event_hash(original)
    assert declaration["errorDeclaration"] == {"declarationTime": "2024-05-03T08:00:00.000+08:00",
                                               "reason": "did_not_occur", "correctiveEventIDs": ["urn:uuid:3f1c"]}
    assert event_hash(declaration, PREFIXES) == event_hash(original)
    [parsed] = parse_document(to_document([declaration]))
    assert parsed.error_declaration is not None and parsed.error_declaration.reason_name == "did_not_occur"
    assert parsed.error_declaration.reason == "https://ref.gs1.org/cbv/ER-did_not_occur"
    with pytest.raises(EpcisError, match="already an error declaration"):
        error_declaration(parsed, "incorrect_data")


def test_an_error_declaration_keeps_the_events_own_id_and_drops_its_record_time() -> None:
    unnamed = _app_events()[0]
    declared = error_declaration(unnamed, "incorrect_data", declaration_time="2024-05-04T00:00:00Z",
                                 namespaces=PREFIXES)
    assert declared["eventID"] == event_hash(unnamed, PREFIXES) == event_hash(declared, PREFIXES)
    assert event_hash(unnamed) != event_hash(unnamed, PREFIXES)  # its ILMD uses the example: prefix
    raw = {**unnamed, "eventID": "urn:uuid:original", "recordTime": "2024-05-01T08:00:01Z"}
    declaration = error_declaration(raw, "urn:example:reason:typo", declaration_time="2024-05-04T00:00:00Z")
    assert declaration["eventID"] == "urn:uuid:original" and "recordTime" not in declaration
    assert declaration["errorDeclaration"]["reason"] == "urn:example:reason:typo"
    with pytest.raises(EpcisError) as info:
        error_declaration(raw, "typo")
    assert info.value.field == "errorDeclaration.reason"


def test_dumps_writes_plain_compact_json() -> None:
    value = {"a": [Decimal("1.10"), 2, True, None, "é\"x"], "b": {"c": Decimal("-0")}}
    assert dumps(value) == '{"a":[1.10,2,true,null,"é\\"x"],"b":{"c":-0}}'
    assert json.loads(dumps(value), parse_float=Decimal) == value
    with pytest.raises(ValueError):
        dumps({"x": Decimal("NaN")})
