"""Structural validation of EPCIS 2.0 JSON-LD: an EPCISDocument, an EPCISQueryDocument, or a single event.

Our own checks, no JSON Schema engine at run time. They follow the GS1 EPCIS
2.0 JSON schema (members per event type, required members, value types,
vocabulary words) and add what the schema leaves to the standard: timestamps
really are xsd:dateTimeStamp values, URIs have URI syntax, EPC URNs follow the
Tag Data Standard, id.gs1.org Digital Links carry well-formed keys with right
check digits, AggregationEvent ADD/DELETE name a parentID, unknown members
must be extensions (prefix:name), and input is bounded in size. The first
problem found is raised as an EpcisError naming its place, e.g.
"epcisBody.eventList[3].eventTime".
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from apps.traceability.epcis.epc_uris import (
    OTHER_ID_SCHEMES,
    UriSyntaxError,
    check_digits_ok,
    parse_epc_urn,
    parse_link,
)
from apps.traceability.epcis.errors import EpcisError, join
from apps.traceability.epcis.model import ACTIONS, COMMENT_KEYS, EVENT_TYPES
from apps.traceability.epcis.timestamps import is_timestamp, is_zone_offset
from apps.traceability.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

#: Limits on what one document may hold.
MAX_EVENTS = 10_000
MAX_STRING = 8_192
MAX_LIST = 100_000
MAX_DEPTH = 32
MAX_EXPONENT = 100  # |adjusted exponent| of a number; keeps canonical number text short

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\"<>\\^`{|}]+$")
_EXTENSION_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*:[^\s\"<>\\^`{|}]+$")
_UOM = re.compile(r"^[A-Z0-9]{2,3}$")
_HEX = re.compile(r"^[A-Fa-f0-9]+$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_OTHER_EPC = re.compile(r"^urn:epc:id:(" + "|".join(OTHER_ID_SCHEMES) + r"):[A-Za-z0-9.\-_%:]+$")
_EPCIS_CONTEXT = re.compile(r"^https?://[^\s]+/epcis-context\.jsonld$")

_COMMON = {"@context", "type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
           "errorDeclaration"}
_LOCATED = {"bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList",
            "destinationList", "sensorElementList"}
_MEMBERS = {
    "ObjectEvent": _COMMON | _LOCATED | {"action", "epcList", "quantityList", "persistentDisposition", "ilmd"},
    "AggregationEvent": _COMMON | _LOCATED | {"action", "parentID", "childEPCs", "childQuantityList"},
    "AssociationEvent": _COMMON | _LOCATED | {"action", "parentID", "childEPCs", "childQuantityList"},
    "TransactionEvent": _COMMON | _LOCATED | {"action", "parentID", "epcList", "quantityList"},
    "TransformationEvent": _COMMON | _LOCATED | {"inputEPCList", "inputQuantityList", "outputEPCList",
                                                 "outputQuantityList", "transformationID", "persistentDisposition",
                                                 "ilmd"},
}
_DOCUMENT_MEMBERS = {"@context", "id", "type", "schemaVersion", "creationDate", "instanceIdentifier", "sender",
                     "receiver", "epcisHeader", "epcisBody"}


def _fail(message: str, path: str) -> None:
    raise EpcisError(message, path)


def _bounded(value: Any, path: str, depth: int = 0) -> None:
    """Check sizes and JSON types everywhere (the schema-specific checks come after)."""
    if depth > MAX_DEPTH:
        _fail(f"nested more than {MAX_DEPTH} levels deep", path)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            _fail(f"a string of {len(value)} characters; at most {MAX_STRING} are accepted", path)
    elif isinstance(value, Mapping):
        for key, child in value.items():
            if not isinstance(key, str):
                _fail("member names must be strings", path)
            if len(key) > MAX_STRING:
                _fail("a member name is too long", path)
            _bounded(child, join(path, key), depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_LIST:
            _fail(f"a list of {len(value)} items; at most {MAX_LIST} are accepted", path)
        for i, child in enumerate(value):
            _bounded(child, join(path, i), depth + 1)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, (int, float, Decimal)):
        _number_ok(value, path)
    else:
        _fail(f"{type(value).__name__} is not a JSON value", path)


def _number_ok(value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        _fail("must be a number", path)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        _fail("must be a finite number", path)
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        _fail(f"numbers are accepted up to 1e{MAX_EXPONENT} in magnitude", path)


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail("must be a JSON object", path)
    return value


def _list(value: Any, path: str, *, non_empty: bool = False, unique: bool = False) -> list:
    if not isinstance(value, list):
        _fail("must be a JSON array", path)
    if non_empty and not value:
        _fail("must not be empty", path)
    if unique:
        seen: set = set()
        for i, item in enumerate(value):
            if isinstance(item, str):
                if item in seen:
                    _fail(f"{item!r} appears twice", join(path, i))
                seen.add(item)
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        _fail("must be a string", path)
    if not value.strip():
        _fail("must not be empty", path)
    return value


def uri_problem(value: str) -> str | None:
    """Why a string is not an acceptable identifier URI (EPC URN, Digital Link or other URI); None if it is."""
    if not _URI.match(value):
        return f"{value!r} is not a URI"
    if value.startswith("urn:epc:"):
        try:
            urn = parse_epc_urn(value)
        except UriSyntaxError as error:
            return f"{value!r} is not a valid EPC URN ({error})"
        if urn is None and not _OTHER_EPC.match(value):
            return f"{value!r} is not an EPC URN of a known scheme"
    elif value.startswith(("https://id.gs1.org/", "http://id.gs1.org/")):
        key = parse_link(value)
        if key is None:
            return f"{value!r} is not a GS1 Digital Link"
        if not check_digits_ok(key):
            return f"{value!r} has a wrong check digit"
    return None


def _uri(value: Any, path: str) -> str:
    if not isinstance(value, str):
        _fail("must be a URI string", path)
    problem = uri_problem(value)
    if problem is not None:
        _fail(problem, path)
    return value


def _timestamp(value: Any, path: str) -> None:
    if not is_timestamp(value):
        _fail(f"{value!r} is not a timestamp with a time zone (YYYY-MM-DDThh:mm:ss[.fff]Z or ±hh:mm)", path)


def _vocab(vocab: Vocabulary, value: Any, path: str, *, web_voc_uri_ok: bool = True) -> None:
    if not isinstance(value, str):
        _fail(f"a {vocab.name} must be a string", path)
    if value in vocab.terms:
        return
    if value.startswith("urn:epcglobal:cbv") or re.match(r"^https?://ns\.gs1\.org/cbv/", value):
        short = vocab.short_name(value)
        hint = f"; write {short!r}" if short in vocab.terms else ""
        _fail(f"{value!r}: EPCIS 2.0 JSON writes standard vocabulary as bare words{hint}", path)
    if not web_voc_uri_ok and re.match(r"^https?://(www\.)?gs1\.org/voc/", value):
        _fail(f"{value!r}: write the GS1 Web Vocabulary term as a bare word ({vocab.short_name(value)!r})", path)
    if not _URI.match(value):
        _fail(f"{value!r} is not a CBV {vocab.name} (one of its words) nor a URI", path)


def _extension_key(key: str, path: str) -> None:
    if key in COMMENT_KEYS:
        return
    if not _EXTENSION_KEY.match(key):
        _fail(f"unknown member {key!r}; extensions must be named prefix:name", join(path, key))


def _members(obj: Mapping[str, Any], allowed: set[str] | frozenset[str], path: str, *, extensions: bool) -> None:
    for key in obj:
        if key in allowed:
            continue
        if not extensions:
            _fail(f"unknown member {key!r}", join(path, key))
        _extension_key(key, path)


def _context(value: Any, path: str, *, require_epcis: bool) -> None:
    items = value if isinstance(value, list) else [value]
    if not items:
        _fail("must not be empty", path)
    for i, item in enumerate(items):
        where = join(path, i) if isinstance(value, list) else path
        if isinstance(item, str):
            _uri(item, where)
        elif isinstance(item, Mapping):
            for term, definition in item.items():
                if not isinstance(definition, (str, Mapping, bool)) and definition is not None:
                    _fail("a context term maps to an IRI or a definition object", join(where, term))
        else:
            _fail("a context entry is a URL or an object", where)
    if require_epcis and not any(isinstance(i, str) and _EPCIS_CONTEXT.match(i) for i in items):
        _fail("must name the EPCIS 2.0 JSON-LD context "
              "(https://ref.gs1.org/standards/epcis/epcis-context.jsonld)", path)


def _quantity_list(value: Any, path: str, *, non_empty: bool = False) -> None:
    for i, element in enumerate(_list(value, path, non_empty=non_empty)):
        where = join(path, i)
        element = _object(element, where)
        _members(element, {"epcClass", "quantity", "uom"}, where, extensions=False)
        if "epcClass" not in element:
            _fail("missing epcClass", join(where, "epcClass"))
        _uri(element["epcClass"], join(where, "epcClass"))
        if "quantity" in element:
            _number_ok(element["quantity"], join(where, "quantity"))
        if "uom" in element:
            if not isinstance(element["uom"], str) or not _UOM.match(element["uom"]):
                _fail("uom is a UN/CEFACT code of 2-3 capitals or digits, e.g. KGM", join(where, "uom"))
            if "quantity" not in element:
                _fail("a uom needs a quantity", join(where, "uom"))


def _uri_list(value: Any, path: str, *, non_empty: bool = False, unique: bool = True) -> None:
    for i, item in enumerate(_list(value, path, non_empty=non_empty, unique=unique)):
        _uri(item, join(path, i))


def _location(value: Any, path: str) -> None:
    obj = _object(value, path)
    if "id" not in obj:
        _fail("missing id", join(path, "id"))
    _uri(obj["id"], join(path, "id"))
    _members(obj, {"id"}, path, extensions=True)


def _typed_list(value: Any, path: str, member: str, vocab: Vocabulary, *, type_required: bool) -> None:
    for i, element in enumerate(_list(value, path)):
        where = join(path, i)
        obj = _object(element, where)
        _members(obj, {"type", member}, where, extensions=False)
        if member not in obj:
            _fail(f"missing {member}", join(where, member))
        _uri(obj[member], join(where, member))
        if "type" in obj:
            _vocab(vocab, obj["type"], join(where, "type"))
        elif type_required:
            _fail("missing type", join(where, "type"))


_METADATA_URIS = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules")
_REPORT_URIS = _METADATA_URIS + ("microorganism", "chemicalSubstance", "coordinateReferenceSystem", "uriValue")
_REPORT_NUMBERS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue")


def _sensor_elements(value: Any, path: str) -> None:
    for i, element in enumerate(_list(value, path)):
        where = join(path, i)
        obj = _object(element, where)
        _members(obj, {"sensorMetadata", "sensorReport"}, where, extensions=True)
        if "sensorMetadata" in obj:
            meta_path = join(where, "sensorMetadata")
            meta = _object(obj["sensorMetadata"], meta_path)
            _members(meta, {"time", "startTime", "endTime", *_METADATA_URIS}, meta_path, extensions=True)
            for key in ("time", "startTime", "endTime"):
                if key in meta:
                    _timestamp(meta[key], join(meta_path, key))
            for key in _METADATA_URIS:
                if key in meta:
                    _uri(meta[key], join(meta_path, key))
        if "sensorReport" not in obj:
            _fail("missing sensorReport", join(where, "sensorReport"))
        reports_path = join(where, "sensorReport")
        for j, report in enumerate(_list(obj["sensorReport"], reports_path, non_empty=True)):
            _sensor_report(report, join(reports_path, j))


def _sensor_report(value: Any, path: str) -> None:
    report = _object(value, path)
    _members(report, {"type", "exception", "time", "value", "component", "stringValue", "booleanValue",
                      "hexBinaryValue", "uom", *_REPORT_URIS, *_REPORT_NUMBERS}, path, extensions=True)
    if "type" not in report:
        _fail("missing type (a measurement type such as Temperature)", join(path, "type"))
    _vocab(MEASUREMENT_TYPE, report["type"], join(path, "type"), web_voc_uri_ok=False)
    if "exception" in report:
        _vocab(SENSOR_ALERT_TYPE, report["exception"], join(path, "exception"), web_voc_uri_ok=False)
    if "component" in report:
        _vocab(COMPONENT, report["component"], join(path, "component"))
    if "time" in report:
        _timestamp(report["time"], join(path, "time"))
    for key in _REPORT_URIS:
        if key in report:
            _uri(report[key], join(path, key))
    for key in _REPORT_NUMBERS:
        if key in report:
            _number_ok(report[key], join(path, key))
    if "booleanValue" in report and not isinstance(report["booleanValue"], bool):
        _fail("must be true or false", join(path, "booleanValue"))
    if "stringValue" in report and not isinstance(report["stringValue"], str):
        _fail("must be a string", join(path, "stringValue"))
    if "hexBinaryValue" in report and not (isinstance(report["hexBinaryValue"], str)
                                           and _HEX.match(report["hexBinaryValue"])):
        _fail("must be hexadecimal digits", join(path, "hexBinaryValue"))
    if "uom" in report and not isinstance(report["uom"], str):
        _fail("must be a string (a UN/CEFACT unit code)", join(path, "uom"))


def _persistent_disposition(value: Any, path: str) -> None:
    obj = _object(value, path)
    _members(obj, {"set", "unset"}, path, extensions=False)
    if "set" not in obj and "unset" not in obj:
        _fail("needs set or unset", path)
    for key in ("set", "unset"):
        if key in obj:
            for i, item in enumerate(_list(obj[key], join(path, key), non_empty=True, unique=True)):
                _vocab(DISPOSITION, item, join(join(path, key), i))


def _error_declaration(value: Any, path: str) -> None:
    obj = _object(value, path)
    _members(obj, {"declarationTime", "reason", "correctiveEventIDs"}, path, extensions=True)
    if "declarationTime" not in obj:
        _fail("missing declarationTime", join(path, "declarationTime"))
    _timestamp(obj["declarationTime"], join(path, "declarationTime"))
    if "reason" in obj:
        _vocab(ERROR_REASON, obj["reason"], join(path, "reason"))
    if "correctiveEventIDs" in obj:
        _uri_list(obj["correctiveEventIDs"], join(path, "correctiveEventIDs"))


def _ilmd(value: Any, path: str) -> None:
    obj = _object(value, path)
    for key in obj:
        _extension_key(key, path)


def validate_event(event: Any, path: str = "") -> None:
    """Check one EPCIS 2.0 event (JSON object); raise EpcisError naming the first problem's place."""
    _bounded(event, path)
    _event(event, path)


def _event(event: Any, path: str) -> None:
    obj = _object(event, path)
    kind = obj.get("type")
    if kind is None:
        _fail("missing type (ObjectEvent, AggregationEvent, TransformationEvent, ...)", join(path, "type"))
    if kind not in EVENT_TYPES:
        _fail(f"unknown event type {kind!r}", join(path, "type"))
    _members(obj, _MEMBERS[kind], path, extensions=True)
    for key in ("eventTime", "eventTimeZoneOffset"):
        if key not in obj:
            _fail(f"missing {key}", join(path, key))
    _timestamp(obj["eventTime"], join(path, "eventTime"))
    if not is_zone_offset(obj["eventTimeZoneOffset"]):
        _fail(f"{obj['eventTimeZoneOffset']!r} is not a time zone offset (+hh:mm or -hh:mm, at most 14:00)",
              join(path, "eventTimeZoneOffset"))
    if "recordTime" in obj:
        _timestamp(obj["recordTime"], join(path, "recordTime"))
    if "eventID" in obj:
        _uri(obj["eventID"], join(path, "eventID"))
    if "@context" in obj:
        _context(obj["@context"], join(path, "@context"), require_epcis=False)
    if "certificationInfo" in obj:
        info = obj["certificationInfo"]
        if isinstance(info, list):
            _uri_list(info, join(path, "certificationInfo"))
        else:
            _uri(info, join(path, "certificationInfo"))
    if "errorDeclaration" in obj:
        _error_declaration(obj["errorDeclaration"], join(path, "errorDeclaration"))

    action = obj.get("action")
    if kind != "TransformationEvent":
        if action is None:
            _fail("missing action (ADD, OBSERVE or DELETE)", join(path, "action"))
        if action not in ACTIONS:
            _fail(f"action {action!r} is not ADD, OBSERVE or DELETE", join(path, "action"))

    for key in ("epcList", "inputEPCList", "outputEPCList"):
        if key in obj:
            _uri_list(obj[key], join(path, key))
    if "childEPCs" in obj:
        _uri_list(obj["childEPCs"], join(path, "childEPCs"))
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        if key in obj:
            _quantity_list(obj[key], join(path, key))
    for key in ("parentID", "transformationID"):
        if key in obj:
            _uri(obj[key], join(path, key))
    if "bizStep" in obj:
        _vocab(BIZ_STEP, obj["bizStep"], join(path, "bizStep"))
    if "disposition" in obj:
        _vocab(DISPOSITION, obj["disposition"], join(path, "disposition"))
    if "persistentDisposition" in obj:
        _persistent_disposition(obj["persistentDisposition"], join(path, "persistentDisposition"))
    for key in ("readPoint", "bizLocation"):
        if key in obj:
            _location(obj[key], join(path, key))
    if "bizTransactionList" in obj:
        _typed_list(obj["bizTransactionList"], join(path, "bizTransactionList"), "bizTransaction",
                    BIZ_TRANSACTION_TYPE, type_required=False)
    for key, member in (("sourceList", "source"), ("destinationList", "destination")):
        if key in obj:
            _typed_list(obj[key], join(path, key), member, SOURCE_DEST_TYPE, type_required=True)
    if "sensorElementList" in obj:
        _sensor_elements(obj["sensorElementList"], join(path, "sensorElementList"))
    if "ilmd" in obj:
        _ilmd(obj["ilmd"], join(path, "ilmd"))
        if kind == "ObjectEvent" and action != "ADD":
            _fail("ilmd is only allowed with action ADD", join(path, "ilmd"))
    _what_it_is_about(obj, kind, action, path)


def _has(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    return isinstance(value, list) and len(value) > 0


def _what_it_is_about(obj: Mapping[str, Any], kind: str, action: Any, path: str) -> None:
    """The per-type rules on which identifiers an event must name."""
    if kind == "ObjectEvent":
        if not ("epcList" in obj or _has(obj, "quantityList")
                or (_has(obj, "sensorElementList") and "readPoint" in obj)):
            _fail("an ObjectEvent needs an epcList or a quantityList", join(path, "epcList"))
    elif kind in ("AggregationEvent", "AssociationEvent"):
        if "parentID" not in obj and (kind == "AssociationEvent" or action in ("ADD", "DELETE")):
            _fail(f"an {kind} with action {action} needs a parentID", join(path, "parentID"))
        if action != "DELETE" and not (_has(obj, "childEPCs") or _has(obj, "childQuantityList")):
            _fail(f"an {kind} needs childEPCs or a childQuantityList", join(path, "childEPCs"))
    elif kind == "TransactionEvent":
        if not _has(obj, "bizTransactionList"):
            _fail("a TransactionEvent needs a bizTransactionList", join(path, "bizTransactionList"))
        if action != "DELETE" and not ("epcList" in obj or _has(obj, "quantityList")):
            _fail("a TransactionEvent needs an epcList or a quantityList", join(path, "epcList"))
    elif kind == "TransformationEvent":
        if not any(_has(obj, k) for k in ("inputEPCList", "inputQuantityList", "outputEPCList",
                                          "outputQuantityList")):
            _fail("a TransformationEvent needs inputs or outputs", join(path, "inputEPCList"))


def validate_document(document: Any) -> None:
    """Check an EPCISDocument, EPCISQueryDocument or single event (JSON-LD); raise EpcisError on the first problem."""
    doc = _object(document, "")
    kind = doc.get("type")
    if kind is None:
        _fail("missing type (EPCISDocument or an event type)", "type")
    if kind not in ("EPCISDocument", "EPCISQueryDocument") and kind not in EVENT_TYPES:
        _fail(f"unknown type {kind!r}", "type")
    if "@context" not in doc:
        _fail("missing @context", "@context")
    if kind in EVENT_TYPES:
        _bounded(doc, "")
        _context(doc["@context"], "@context", require_epcis=True)
        _event(doc, "")
        return
    _members(doc, _DOCUMENT_MEMBERS, "", extensions=True)
    _context(doc["@context"], "@context", require_epcis=True)
    for key in ("schemaVersion", "creationDate", "epcisBody"):
        if key not in doc:
            _fail(f"missing {key}", key)
    version = doc["schemaVersion"]
    if not isinstance(version, str) or not _VERSION.match(version):
        _fail("schemaVersion is a version string such as 2.0", "schemaVersion")
    if version.split(".")[0] != "2":
        _fail(f"schemaVersion {version} is not EPCIS 2.x", "schemaVersion")
    _timestamp(doc["creationDate"], "creationDate")
    if "id" in doc:
        _uri(doc["id"], "id")
    for key in ("instanceIdentifier", "sender", "receiver"):
        if key in doc:
            _string(doc[key], key)
    if "epcisHeader" in doc:
        _object(doc["epcisHeader"], "epcisHeader")
    body = _object(doc["epcisBody"], "epcisBody")
    if kind == "EPCISDocument":
        _members(body, {"eventList"}, "epcisBody", extensions=True)
        if "eventList" not in body:
            _fail("missing eventList", "epcisBody.eventList")
        events_path = "epcisBody.eventList"
        events = body["eventList"]
    else:
        _members(body, {"queryResults"}, "epcisBody", extensions=True)
        results = _object(body.get("queryResults"), "epcisBody.queryResults")
        _members(results, {"queryName", "subscriptionID", "resultsBody"}, "epcisBody.queryResults", extensions=True)
        _string(results.get("queryName"), "epcisBody.queryResults.queryName")
        results_body = _object(results.get("resultsBody"), "epcisBody.queryResults.resultsBody")
        events_path = "epcisBody.queryResults.resultsBody.eventList"
        events = results_body.get("eventList")
    events = _list(events, events_path)
    if len(events) > MAX_EVENTS:
        _fail(f"{len(events)} events; a document may hold at most {MAX_EVENTS}", events_path)
    _bounded(doc, "")
    for i, event in enumerate(events):
        _event(event, join(events_path, i))
