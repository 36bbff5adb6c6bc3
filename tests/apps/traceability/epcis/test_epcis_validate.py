"""EPCIS 2.0 structural validation: every GS1 example accepted, malformed input refused at the right place."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from apps.traceability.epcis import EpcisError, load_json, parse_document, validate_document, validate_event
from apps.traceability.epcis import validate as validate_module

from .epcis_samples import read_example, reference_dir

#: The one official example with a member name repeated inside one object ("eventID" twice): ambiguous JSON,
#: which the byte-level reader refuses (parsers disagree on which value wins); its decoded form is valid.
DUPLICATE_KEY_EXAMPLE = "AssociationEvent/AssociationEvent-h.jsonld"


def test_every_example_document_is_accepted(example_file: str) -> None:
    data = read_example(example_file)
    decoded = json.loads(data, parse_float=Decimal)
    validate_document(decoded)
    if example_file == DUPLICATE_KEY_EXAMPLE:
        with pytest.raises(EpcisError, match="appears twice"):
            parse_document(data)
        events = parse_document(decoded)
    else:
        events = parse_document(data)
    assert events and all(e.event_time and e.event_time_zone_offset for e in events)


@pytest.mark.parametrize("name", ["ObjectEvent.json", "AggregationEvent.json", "TransformationEvent.json",
                                  "AssociationEvent.json"])
def test_the_schema_projects_single_event_examples_are_accepted(name: str) -> None:
    events = parse_document((reference_dir() / "JSON-Schema" / "test" / name).read_bytes())
    assert [e.type for e in events] == [name.removesuffix(".json")]


def test_an_extension_event_type_is_refused_as_unknown() -> None:
    with pytest.raises(EpcisError, match="unknown type 'example:CustomEvent'") as info:
        parse_document((reference_dir() / "JSON-Schema" / "test" / "Extended-Event.json").read_bytes())
    assert info.value.field == "type"


def _document() -> dict[str, Any]:
    """A valid document of four events (eventList[3] is an ObjectEvent) to break in one place at a time."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                     {"example": "https://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T10:00:00.000Z",
        "epcisBody": {"eventList": [
            {"type": "AggregationEvent", "eventTime": "2024-05-01T08:00:00.000+08:00",
             "eventTimeZoneOffset": "+08:00", "parentID": "urn:epc:id:sscc:0614141.1234567890",
             "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "ADD", "bizStep": "packing"},
            {"type": "TransformationEvent", "eventTime": "2024-05-01T09:00:00Z", "eventTimeZoneOffset": "+00:00",
             "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1", "quantity": 2,
                                    "uom": "KGM"}],
             "outputEPCList": ["https://id.gs1.org/01/09506000134352/21/X1"], "bizStep": "commissioning",
             "ilmd": {"example:grade": "A"}},
            {"type": "ObjectEvent", "eventTime": "2024-05-01T09:30:00Z", "eventTimeZoneOffset": "+00:00",
             "epcList": [], "action": "OBSERVE"},
            {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00.5+01:00", "eventTimeZoneOffset": "+01:00",
             "epcList": ["urn:epc:id:sgtin:0614141.107346.2018", "https://id.gs1.org/00/106141412345678908"],
             "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
             "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
             "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}],
             "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00777"}],
             "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": Decimal("4.5"),
                                                      "uom": "CEL"}]}],
             "example:note": "fragile"},
        ]},
    }


def test_the_sample_document_is_valid() -> None:
    validate_document(_document())


Mutation = Callable[[dict[str, Any]], Any]
E3 = "epcisBody.eventList[3]"


def _event(doc: dict[str, Any], index: int = 3) -> dict[str, Any]:
    return doc["epcisBody"]["eventList"][index]


BAD: list[tuple[str, Mutation, str, str]] = [
    ("no type", lambda d: _event(d).pop("type"), f"{E3}.type", "missing type"),
    ("unknown type", lambda d: _event(d).update(type="FooEvent"), f"{E3}.type", "unknown event type 'FooEvent'"),
    ("no eventTime", lambda d: _event(d).pop("eventTime"), f"{E3}.eventTime", "missing eventTime"),
    ("no offset", lambda d: _event(d).pop("eventTimeZoneOffset"), f"{E3}.eventTimeZoneOffset",
     "missing eventTimeZoneOffset"),
    ("month 13", lambda d: _event(d).update(eventTime="2024-13-01T00:00:00Z"), f"{E3}.eventTime", "not a timestamp"),
    ("no zone", lambda d: _event(d).update(eventTime="2024-05-01T10:00:00"), f"{E3}.eventTime", "time zone"),
    ("date only", lambda d: _event(d).update(eventTime="2024-05-01"), f"{E3}.eventTime", "not a timestamp"),
    ("30 February", lambda d: _event(d).update(eventTime="2024-02-30T00:00:00Z"), f"{E3}.eventTime",
     "not a timestamp"),
    ("zone too far", lambda d: _event(d).update(eventTime="2024-05-01T10:00:00+15:00"), f"{E3}.eventTime",
     "not a timestamp"),
    ("number as time", lambda d: _event(d).update(eventTime=1714557600), f"{E3}.eventTime", "not a timestamp"),
    ("bad offset", lambda d: _event(d).update(eventTimeZoneOffset="+1:00"), f"{E3}.eventTimeZoneOffset",
     "not a time zone offset"),
    ("bad recordTime", lambda d: _event(d).update(recordTime="yesterday"), f"{E3}.recordTime", "not a timestamp"),
    ("bad action", lambda d: _event(d).update(action="UPDATE"), f"{E3}.action", "is not ADD, OBSERVE or DELETE"),
    ("lower-case action", lambda d: _event(d).update(action="add"), f"{E3}.action", "is not ADD"),
    ("no action", lambda d: _event(d).pop("action"), f"{E3}.action", "missing action"),
    ("action on a transformation", lambda d: _event(d, 1).update(action="ADD"), "epcisBody.eventList[1].action",
     "unknown member 'action'"),
    ("epcList not a list", lambda d: _event(d).update(epcList="urn:epc:id:sgtin:0614141.107346.1"),
     f"{E3}.epcList", "must be a JSON array"),
    ("epc not a string", lambda d: _event(d)["epcList"].append(42), f"{E3}.epcList[2]", "must be a URI string"),
    ("epc not a URI", lambda d: _event(d)["epcList"].append("pallet 7"), f"{E3}.epcList[2]", "is not a URI"),
    ("sgtin item reference too short", lambda d: _event(d)["epcList"].append("urn:epc:id:sgtin:0614141.10734.1"),
     f"{E3}.epcList[2]", "reference must be 6 digits"),
    ("sgtin serial with a space", lambda d: _event(d)["epcList"].append("urn:epc:id:sgtin:0614141.107346.a%20b"),
     f"{E3}.epcList[2]", "character set 82"),
    ("unknown EPC scheme", lambda d: _event(d)["epcList"].append("urn:epc:id:foo:1.2"), f"{E3}.epcList[2]",
     "known scheme"),
    ("Digital Link check digit", lambda d: _event(d)["epcList"].append("https://id.gs1.org/01/09506000134353/21/1"),
     f"{E3}.epcList[2]", "wrong check digit"),
    ("Digital Link without a key", lambda d: _event(d)["epcList"].append("https://id.gs1.org/99/123"),
     f"{E3}.epcList[2]", "not a GS1 Digital Link"),
    ("duplicate EPC", lambda d: _event(d)["epcList"].append("urn:epc:id:sgtin:0614141.107346.2018"),
     f"{E3}.epcList[2]", "appears twice"),
    ("ObjectEvent about nothing", lambda d: _event(d, 2).pop("epcList"), "epcisBody.eventList[2].epcList",
     "needs an epcList"),
    ("sensor-only ObjectEvent without readPoint",
     lambda d: [_event(d).pop(k) for k in ("epcList", "readPoint")], f"{E3}.epcList", "needs an epcList"),
    ("aggregation ADD without parentID", lambda d: _event(d, 0).pop("parentID"), "epcisBody.eventList[0].parentID",
     "needs a parentID"),
    ("aggregation without children", lambda d: _event(d, 0).pop("childEPCs"), "epcisBody.eventList[0].childEPCs",
     "needs childEPCs"),
    ("transformation without inputs or outputs",
     lambda d: [_event(d, 1).pop(k) for k in ("inputQuantityList", "outputEPCList")],
     "epcisBody.eventList[1].inputEPCList", "needs inputs or outputs"),
    ("quantity as text", lambda d: _event(d, 1)["inputQuantityList"][0].update(quantity="2"),
     "epcisBody.eventList[1].inputQuantityList[0].quantity", "must be a number"),
    ("quantity NaN", lambda d: _event(d, 1)["inputQuantityList"][0].update(quantity=float("nan")),
     "epcisBody.eventList[1].inputQuantityList[0].quantity", "finite"),
    ("lower-case uom", lambda d: _event(d, 1)["inputQuantityList"][0].update(uom="kg"),
     "epcisBody.eventList[1].inputQuantityList[0].uom", "UN/CEFACT"),
    ("quantity element extra member", lambda d: _event(d, 1)["inputQuantityList"][0].update(lot="L1"),
     "epcisBody.eventList[1].inputQuantityList[0].lot", "unknown member 'lot'"),
    ("unknown bizStep word", lambda d: _event(d).update(bizStep="shipped"), f"{E3}.bizStep", "not a CBV bizStep"),
    ("bizStep URN", lambda d: _event(d).update(bizStep="urn:epcglobal:cbv:bizstep:shipping"), f"{E3}.bizStep",
     "write 'shipping'"),
    ("unknown disposition", lambda d: _event(d).update(disposition="lost"), f"{E3}.disposition",
     "not a CBV disposition"),
    ("bizStep not text", lambda d: _event(d).update(bizStep=["shipping"]), f"{E3}.bizStep", "must be a string"),
    ("readPoint without id", lambda d: _event(d).update(readPoint={}), f"{E3}.readPoint.id", "missing id"),
    ("readPoint as text", lambda d: _event(d).update(readPoint="urn:epc:id:sgln:0614141.00777.0"),
     f"{E3}.readPoint", "must be a JSON object"),
    ("unknown member", lambda d: _event(d).update(bizstep="shipping"), f"{E3}.bizstep", "unknown member 'bizstep'"),
    ("source without type", lambda d: _event(d)["sourceList"][0].pop("type"), f"{E3}.sourceList[0].type",
     "missing type"),
    ("unknown source type", lambda d: _event(d)["sourceList"][0].update(type="owner"), f"{E3}.sourceList[0].type",
     "not a CBV source/destination type"),
    ("bizTransaction missing", lambda d: _event(d)["bizTransactionList"][0].pop("bizTransaction"),
     f"{E3}.bizTransactionList[0].bizTransaction", "missing bizTransaction"),
    ("sensor report without type", lambda d: _event(d)["sensorElementList"][0]["sensorReport"][0].pop("type"),
     f"{E3}.sensorElementList[0].sensorReport[0].type", "missing type"),
    ("sensor value as text", lambda d: _event(d)["sensorElementList"][0]["sensorReport"][0].update(value="4.5"),
     f"{E3}.sensorElementList[0].sensorReport[0].value", "must be a number"),
    ("sensor boolean as text",
     lambda d: _event(d)["sensorElementList"][0]["sensorReport"][0].update(booleanValue="yes"),
     f"{E3}.sensorElementList[0].sensorReport[0].booleanValue", "true or false"),
    ("measurement type as a gs1 Web URI",
     lambda d: _event(d)["sensorElementList"][0]["sensorReport"][0].update(type="https://gs1.org/voc/Temperature"),
     f"{E3}.sensorElementList[0].sensorReport[0].type", "bare word"),
    ("no sensor reports", lambda d: _event(d)["sensorElementList"][0].update(sensorReport=[]),
     f"{E3}.sensorElementList[0].sensorReport", "must not be empty"),
    ("ilmd with OBSERVE", lambda d: _event(d).update(ilmd={"example:lot": "L1"}), f"{E3}.ilmd",
     "only allowed with action ADD"),
    ("ilmd key not prefixed", lambda d: _event(d, 1)["ilmd"].update(lot="L1"), "epcisBody.eventList[1].ilmd.lot",
     "prefix:name"),
    ("error declaration without time", lambda d: _event(d).update(errorDeclaration={"reason": "incorrect_data"}),
     f"{E3}.errorDeclaration.declarationTime", "missing declarationTime"),
    ("unknown error reason", lambda d: _event(d).update(
        errorDeclaration={"declarationTime": "2024-05-02T00:00:00Z", "reason": "oops"}),
     f"{E3}.errorDeclaration.reason", "not a CBV error reason"),
    ("event not an object", lambda d: d["epcisBody"]["eventList"].append("ObjectEvent"), "epcisBody.eventList[4]",
     "must be a JSON object"),
    ("no @context", lambda d: d.pop("@context"), "@context", "missing @context"),
    ("@context without EPCIS", lambda d: d.update({"@context": [{"example": "https://ns.example.com/"}]}),
     "@context", "EPCIS 2.0 JSON-LD context"),
    ("EPCIS 1.2", lambda d: d.update(schemaVersion="1.2"), "schemaVersion", "not EPCIS 2.x"),
    ("no creationDate", lambda d: d.pop("creationDate"), "creationDate", "missing creationDate"),
    ("bad creationDate", lambda d: d.update(creationDate="today"), "creationDate", "not a timestamp"),
    ("document type", lambda d: d.update(type="EPCISDoc"), "type", "unknown type 'EPCISDoc'"),
    ("no eventList", lambda d: d["epcisBody"].pop("eventList"), "epcisBody.eventList", "missing eventList"),
    ("unknown document member", lambda d: d.update(version="2"), "version", "unknown member 'version'"),
]


@pytest.mark.parametrize("mutate, field, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_documents_are_refused_at_the_right_place(mutate: Mutation, field: str, message: str) -> None:
    doc = _document()
    mutate(doc)
    with pytest.raises(EpcisError) as info:
        validate_document(doc)
    assert info.value.field == field
    assert message in info.value.message


def test_the_error_names_field_and_problem_in_its_text() -> None:
    doc = _document()
    _event(doc)["eventTime"] = "noon"
    with pytest.raises(EpcisError) as info:
        validate_document(doc)
    assert str(info.value).startswith("epcisBody.eventList[3].eventTime: ")
    assert isinstance(info.value, ValueError)


def test_more_events_than_the_limit_are_refused() -> None:
    doc = _document()
    event = _event(doc)
    doc["epcisBody"]["eventList"] = [event] * (validate_module.MAX_EVENTS + 1)
    with pytest.raises(EpcisError, match="at most 10000") as info:
        validate_document(doc)
    assert info.value.field == "epcisBody.eventList"
    doc["epcisBody"]["eventList"] = [event] * validate_module.MAX_EVENTS
    validate_document(doc)


@pytest.mark.parametrize("mutate, field, message", [
    (lambda e: e.update({"example:note": "x" * 10_000}), "example:note", "at most 8192"),
    (lambda e: e.update({"example:deep": json.loads("[" * 40 + "]" * 40)}), "example:deep", "nested more than"),
    (lambda e: e.update({"example:big": Decimal("1e200")}), "example:big", "magnitude"),
    (lambda e: e.update({"example:when": object()}), "example:when", "not a JSON value"),
])
def test_oversized_and_non_json_values_are_refused(mutate: Mutation, field: str, message: str) -> None:
    event = copy.deepcopy(_event(_document()))
    mutate(event)
    with pytest.raises(EpcisError, match=message) as info:
        validate_event(event)
    assert info.value.field.startswith(field)


def test_a_single_event_document_needs_its_context() -> None:
    event = copy.deepcopy(_event(_document()))
    validate_event(event)
    with pytest.raises(EpcisError, match="missing @context"):
        validate_document(event)
    event["@context"] = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    validate_document(event)
    event["readPoint"]["id"] = "nowhere"
    with pytest.raises(EpcisError) as info:
        validate_document(event)
    assert info.value.field == "readPoint.id"


@pytest.mark.parametrize("data, message", [
    (b'{"type": "EPCISDocument", "type": "ObjectEvent"}', "appears twice"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": Infinity}', "Infinity is not a JSON number"),
    (b'{"a": 1,}', "not JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": ' + b"9" * 5000 + b"}", "not acceptable JSON"),
])
def test_unreadable_json_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(EpcisError, match=message):
        load_json(data)


def test_json_numbers_are_decoded_exactly() -> None:
    assert load_json('{"v": 26.10, "n": 3}') == {"v": Decimal("26.10"), "n": 3}
    assert isinstance(load_json('{"v": 0.1}')["v"], Decimal)
    assert load_json("\ufeff{}".encode()) == {}


def test_too_large_documents_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.traceability.epcis import document

    monkeypatch.setattr(document, "MAX_DOCUMENT_BYTES", 100)
    with pytest.raises(EpcisError, match="at most 100"):
        parse_document(b" " * 101)
