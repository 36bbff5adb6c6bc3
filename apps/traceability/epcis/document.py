"""EPCIS 2.0 JSON-LD documents in and out, and the builders the console uses to write events.

`parse_document` reads an EPCISDocument, EPCISQueryDocument or single event
(bytes, text or an already-decoded object), validates it and returns the
events. `to_document` writes events as an EPCISDocument. `event_from_fields`
makes an ObjectEvent / AggregationEvent / TransformationEvent from form
fields; `error_declaration` makes the error declaration of an earlier event.
JSON numbers are decoded as Decimals, never floats; `dumps` writes them back
digit for digit.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.traceability.epcis.epc_uris import canonical_link, encode_link_value
from apps.traceability.epcis.errors import EpcisError, join
from apps.traceability.epcis.event_hash import event_hash
from apps.traceability.epcis.model import APP_EVENT_TYPES, EpcisEvent, context_prefixes, used_namespaces
from apps.traceability.epcis.timestamps import format_timestamp, is_timestamp, now, zone_offset_of
from apps.traceability.epcis.validate import uri_problem, validate_document, validate_event
from apps.traceability.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    DISPOSITION,
    EPCIS_CONTEXT,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SOURCE_DEST_TYPE,
    STANDARD_PREFIXES,
    Vocabulary,
)
from apps.traceability.identifiers import Gln, IdentifierError, Sgtin, Sscc

#: Largest document accepted as bytes or text.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise EpcisError(f"member {key!r} appears twice in one object", key)
        obj[key] = value
    return obj


def _no_constants(name: str) -> Any:
    raise EpcisError(f"{name} is not a JSON number", "")


def load_json(data: bytes | str) -> Any:
    """Decode JSON text (UTF-8 bytes or str): numbers as int/Decimal, duplicate member names and NaN refused."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise EpcisError(f"the document has {len(data)} bytes; at most {MAX_DOCUMENT_BYTES} are accepted", "")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise EpcisError(f"not UTF-8 text (byte {error.start})", "") from None
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise EpcisError(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}", "") from None
    except RecursionError:
        raise EpcisError("JSON nested too deeply", "") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        if isinstance(error, EpcisError):
            raise
        raise EpcisError(f"not acceptable JSON: {error}", "") from None


def _event_list(doc: Mapping[str, Any]) -> list[Any]:
    if doc["type"] == "EPCISDocument":
        return doc["epcisBody"]["eventList"]
    if doc["type"] == "EPCISQueryDocument":
        return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return [doc]


def parse_document(data: bytes | str | Mapping[str, Any]) -> list[EpcisEvent]:
    """The events of an EPCIS 2.0 JSON-LD document or single event, validated (EpcisError on the first problem)."""
    doc = load_json(data) if isinstance(data, (bytes, bytearray, str)) else data
    validate_document(doc)
    prefixes = context_prefixes(doc.get("@context"))
    return [EpcisEvent.from_json(event, prefixes) for event in _event_list(doc)]


def to_document(events: Iterable[EpcisEvent | Mapping[str, Any]], sender: str | None = None, *,
                receiver: str | None = None, creation_date: str | None = None,
                namespaces: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An EPCIS 2.0 JSON-LD EPCISDocument holding the events (copied), declaring the namespace prefixes they use.

    A parsed EpcisEvent brings its own prefixes; for an event given as a JSON object (e.g. from
    event_from_fields), pass the prefixes its extension members use in `namespaces` ({"example": IRI}).
    """
    event_list: list[dict[str, Any]] = []
    declared: dict[str, str] = {}
    for i, event in enumerate(events):
        if isinstance(event, EpcisEvent):
            raw, used = event.raw, dict(event.namespaces)
        else:
            raw, used = event, dict(used_namespaces(event, namespaces or {}))
        own = context_prefixes(raw.get("@context"))
        for prefix, iri in used.items():
            if own.get(prefix) == iri or STANDARD_PREFIXES.get(prefix) == iri:
                continue
            if declared.setdefault(prefix, iri) != iri:
                raise EpcisError(f"events use prefix {prefix!r} for both {declared[prefix]} and {iri}",
                                 f"events[{i}]")
        event_list.append(copy.deepcopy(dict(raw)))
    context: list[Any] = [EPCIS_CONTEXT]
    if declared:
        context.append(dict(sorted(declared.items())))
    doc: dict[str, Any] = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date or now(),
    }
    if sender is not None:
        doc["sender"] = sender
    if receiver is not None:
        doc["receiver"] = receiver
    doc["epcisBody"] = {"eventList": event_list}
    validate_document(doc)
    return doc


def _dump(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        out.append("{")
        for i, (key, child) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _dump(child, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, child in enumerate(value):
            if i:
                out.append(",")
            _dump(child, out)
        out.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("JSON has no NaN or infinity")
        out.append(str(value))
    else:
        out.append(json.dumps(value, ensure_ascii=False, allow_nan=False))


def dumps(value: Any) -> str:
    """Compact JSON text of a document or event, Decimal numbers written with their exact digits."""
    out: list[str] = []
    _dump(value, out)
    return "".join(out)


# --- building events from form fields ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SensorReading:
    """One reading for event_from_fields: a measurement type (Temperature, gs1:Temperature or a URI), value, unit."""

    type: str
    value: Decimal | int | str
    uom: str | None = None
    time: str | datetime | None = None
    device_id: str | None = None


def _fail(message: str, field: str) -> None:
    raise EpcisError(message, field)


def _identifier(value: Any, field: str) -> str:
    """An EPC: a GS1 identifier object, or an EPC URN / Digital Link naming a GS1 key."""
    if isinstance(value, Sgtin):
        return f"https://id.gs1.org/01/{value.gtin.digits}/21/{encode_link_value(value.serial)}"
    if isinstance(value, Sscc):
        return f"https://id.gs1.org/00/{value.digits}"
    if not isinstance(value, str) or not value.strip():
        _fail("an EPC URN or GS1 Digital Link is expected", field)
    value = value.strip()
    problem = uri_problem(value)
    if problem is not None:
        _fail(problem, field)
    if canonical_link(value) is None:
        _fail(f"{value!r} names no GS1 key (expected an EPC URN or a GS1 Digital Link)", field)
    return value


def _place(value: Any, field: str, ai: str) -> str:
    """A location (AI 414) or party (AI 417): a Gln, 13 GLN digits, an sgln/pgln URN or a Digital Link."""
    if isinstance(value, Gln):
        return f"https://id.gs1.org/{ai}/{value.digits}"
    if isinstance(value, str) and re.fullmatch(r"[0-9]{13}", value.strip()):
        try:
            return f"https://id.gs1.org/{ai}/{Gln.parse(value.strip(), field).digits}"
        except IdentifierError as error:
            raise EpcisError(str(error), field) from None
    text = _identifier(value, field)
    link = canonical_link(text) or ""
    wanted = ("/414/",) if ai == "414" else ("/417/", "/414/")
    if not any(w in link for w in wanted):
        kind = "a location (sgln URN, or Digital Link with AI 414)" if ai == "414" else \
            "a party (pgln URN, or Digital Link with AI 417)"
        _fail(f"{text!r} is not {kind}", field)
    return text


def _compact(vocab: Vocabulary, value: Any, field: str) -> str:
    """A vocabulary value as EPCIS JSON writes it: the bare word for a standard term, else the custom URI."""
    if not isinstance(value, str) or not value.strip():
        _fail(f"a {vocab.name} is expected", field)
    value = value.strip()
    if vocab.is_standard(value):
        return vocab.short_name(value)
    if ":" not in value:
        _fail(f"{value!r} is not a CBV {vocab.name}; use one of: {', '.join(sorted(vocab.terms))}", field)
    return value


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, float):
        _fail("pass numbers as Decimal, int or text, not float (floats lose digits)", field)
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        _fail(f"{value!r} is not a decimal number", field)
    return number


def _time(value: str | datetime | None, field: str) -> str:
    if value is None:
        return now()
    if isinstance(value, datetime):
        try:
            return format_timestamp(value)
        except ValueError as error:
            raise EpcisError(str(error), field) from None
    if not is_timestamp(value):
        _fail(f"{value!r} is not a timestamp with a time zone", field)
    return value


def _quantities(items: Sequence[tuple], field: str) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        where = join(field, i)
        if not isinstance(item, (tuple, list)) or not 1 <= len(item) <= 3:
            _fail("a quantity is (epcClass, quantity[, uom])", where)
        element: dict[str, Any] = {"epcClass": item[0]}
        if len(item) > 1 and item[1] is not None:
            element["quantity"] = _decimal(item[1], where)
        if len(item) > 2 and item[2] is not None:
            element["uom"] = item[2]
        out.append(element)
    return out


def event_from_fields(
    event_type: str = "ObjectEvent",
    *,
    action: str | None = None,
    event_time: str | datetime | None = None,
    event_time_zone_offset: str | None = None,
    epcs: Sequence[str | Sgtin | Sscc] = (),
    parent_id: str | Sscc | Sgtin | None = None,
    child_epcs: Sequence[str | Sgtin | Sscc] = (),
    input_epcs: Sequence[str | Sgtin | Sscc] = (),
    output_epcs: Sequence[str | Sgtin | Sscc] = (),
    quantities: Sequence[tuple] = (),
    input_quantities: Sequence[tuple] = (),
    output_quantities: Sequence[tuple] = (),
    biz_step: str | None = None,
    disposition: str | None = None,
    read_point: str | Gln | None = None,
    biz_location: str | Gln | None = None,
    biz_transactions: Sequence[tuple[str | None, str]] = (),
    sources: Sequence[tuple[str, str | Gln]] = (),
    destinations: Sequence[tuple[str, str | Gln]] = (),
    sensor_readings: Sequence[SensorReading] = (),
    transformation_id: str | None = None,
    ilmd: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An EPCIS 2.0 ObjectEvent, AggregationEvent or TransformationEvent (JSON object) from form fields, validated."""
    if event_type not in APP_EVENT_TYPES:
        _fail(f"event type must be one of {', '.join(APP_EVENT_TYPES)}", "type")
    event: dict[str, Any] = {"type": event_type}
    time = _time(event_time, "eventTime")
    event["eventTime"] = time
    event["eventTimeZoneOffset"] = event_time_zone_offset or zone_offset_of(time)
    if event_id is not None:
        event["eventID"] = event_id
    if event_type == "ObjectEvent":
        if not epcs and not quantities:
            _fail("give at least one EPC or quantity", "epcList")
        if epcs:
            event["epcList"] = [_identifier(e, join("epcList", i)) for i, e in enumerate(epcs)]
        if quantities:
            event["quantityList"] = _quantities(quantities, "quantityList")
    elif event_type == "AggregationEvent":
        if parent_id is not None:
            event["parentID"] = _identifier(parent_id, "parentID")
        if child_epcs:
            event["childEPCs"] = [_identifier(e, join("childEPCs", i)) for i, e in enumerate(child_epcs)]
        if quantities:
            event["childQuantityList"] = _quantities(quantities, "childQuantityList")
    else:
        if input_epcs:
            event["inputEPCList"] = [_identifier(e, join("inputEPCList", i)) for i, e in enumerate(input_epcs)]
        if input_quantities:
            event["inputQuantityList"] = _quantities(input_quantities, "inputQuantityList")
        if output_epcs:
            event["outputEPCList"] = [_identifier(e, join("outputEPCList", i)) for i, e in enumerate(output_epcs)]
        if output_quantities:
            event["outputQuantityList"] = _quantities(output_quantities, "outputQuantityList")
        if transformation_id is not None:
            event["transformationID"] = transformation_id
    if event_type != "TransformationEvent":
        if action is None:
            _fail("choose an action: ADD, OBSERVE or DELETE", "action")
        event["action"] = action.strip().upper() if isinstance(action, str) else action
    elif action is not None:
        _fail("a TransformationEvent has no action", "action")
    if biz_step is not None:
        event["bizStep"] = _compact(BIZ_STEP, biz_step, "bizStep")
    if disposition is not None:
        event["disposition"] = _compact(DISPOSITION, disposition, "disposition")
    if read_point is not None:
        event["readPoint"] = {"id": _place(read_point, "readPoint", "414")}
    if biz_location is not None:
        event["bizLocation"] = {"id": _place(biz_location, "bizLocation", "414")}
    if biz_transactions:
        items = []
        for i, (kind, value) in enumerate(biz_transactions):
            item: dict[str, Any] = {}
            if kind is not None:
                item["type"] = _compact(BIZ_TRANSACTION_TYPE, kind, join(join("bizTransactionList", i), "type"))
            item["bizTransaction"] = value
            items.append(item)
        event["bizTransactionList"] = items
    for name, member, parties in (("sourceList", "source", sources), ("destinationList", "destination", destinations)):
        if parties:
            items = []
            for i, (kind, party) in enumerate(parties):
                where = join(name, i)
                kind = _compact(SOURCE_DEST_TYPE, kind, join(where, "type"))
                ai = "414" if kind == "location" else "417"
                items.append({"type": kind, member: _place(party, join(where, member), ai)})
            event[name] = items
    if sensor_readings:
        reports = []
        for i, reading in enumerate(sensor_readings):
            where = join(join(join("sensorElementList", 0), "sensorReport"), i)
            report: dict[str, Any] = {"type": _measurement(reading.type, join(where, "type"))}
            if reading.device_id is not None:
                report["deviceID"] = reading.device_id
            if reading.time is not None:
                report["time"] = _time(reading.time, join(where, "time"))
            report["value"] = _decimal(reading.value, join(where, "value"))
            if reading.uom is not None:
                report["uom"] = reading.uom
            reports.append(report)
        event["sensorElementList"] = [{"sensorReport": reports}]
    if ilmd:
        event["ilmd"] = dict(ilmd)
    validate_event(event)
    return event


def _measurement(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail("a measurement type such as Temperature is expected", field)
    value = value.strip()
    if MEASUREMENT_TYPE.is_standard(value):
        return MEASUREMENT_TYPE.short_name(value)
    if ":" not in value:
        _fail(f"{value!r} is not a GS1 measurement type (e.g. Temperature, RelativeHumidity) nor a URI", field)
    return value


def error_declaration(original_event: EpcisEvent | Mapping[str, Any], reason: str | None,
                      corrective_ids: Sequence[str] = (), *, declaration_time: str | datetime | None = None,
                      namespaces: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The error declaration of an event: the event again with errorDeclaration, keeping (or setting) its eventID.

    An event without an eventID gets its CBV 2.0 event hash, which the declaration shares (the hash leaves the
    errorDeclaration out); for an event given as a JSON object, `namespaces` are its extension prefixes.
    """
    if isinstance(original_event, EpcisEvent):
        raw: Mapping[str, Any] = original_event.raw
        original_id = original_event.event_id or event_hash(original_event)
    else:
        raw = original_event
        validate_event(raw)
        original_id = raw.get("eventID") or event_hash(raw, namespaces)
    if "errorDeclaration" in raw:
        _fail("the event is already an error declaration", "errorDeclaration")
    event = copy.deepcopy(dict(raw))
    event.pop("recordTime", None)
    event["eventID"] = original_id
    declaration: dict[str, Any] = {"declarationTime": _time(declaration_time, "errorDeclaration.declarationTime")}
    if reason is not None:
        declaration["reason"] = _compact(ERROR_REASON, reason, "errorDeclaration.reason")
    if corrective_ids:
        declaration["correctiveEventIDs"] = list(corrective_ids)
    event["errorDeclaration"] = declaration
    validate_event(event)
    return event

