"""A parsed EPCIS 2.0 event as frozen dataclasses, with the event's JSON kept as received in `raw`.

Vocabulary values are held as CBV / GS1 Web URIs whatever form the document
used (bizStep "shipping" -> https://ref.gs1.org/cbv/BizStep-shipping); the
`*_name` accessors give the short name back. Identifiers (EPCs, locations,
parties) are held exactly as written. Numbers are Decimals (never floats), so
a sensor value keeps the digits it was sent with.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.traceability.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    STANDARD_PREFIXES,
    Vocabulary,
)

#: Every EPCIS 2.0 event type a document may carry.
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
#: The event types the traceability app records.
APP_EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransformationEvent")
ACTIONS = ("ADD", "OBSERVE", "DELETE")
#: Keys that are annotations, not data (JSON-LD comments).
COMMENT_KEYS = frozenset({"rdfs:comment", "comment"})


def to_decimal(value: Any) -> Decimal:
    """A JSON number as an exact Decimal (a float is taken by its shortest repr, which is the JSON text it came from)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def expand_curie(value: str, prefixes: Mapping[str, str]) -> str:
    """A compact IRI (prefix:suffix with a known prefix) as the full IRI; any other value unchanged."""
    head, sep, tail = value.partition(":")
    if sep and not tail.startswith("//") and head in prefixes:
        return prefixes[head] + tail
    return value


def context_prefixes(context: Any) -> dict[str, str]:
    """The namespace prefixes a JSON-LD @context (string, object or list of them) defines."""
    found: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if not isinstance(item, Mapping):
            continue
        for term, definition in item.items():
            if not isinstance(term, str) or term.startswith("@") or ":" in term:
                continue
            if isinstance(definition, Mapping):
                definition = definition.get("@id")
            if isinstance(definition, str) and not definition.startswith("@") and ":" in definition:
                found[term] = definition
    return found


def _vocab(vocab: Vocabulary, value: Any, prefixes: Mapping[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if not value else vocab.expand(expand_curie(value, prefixes) if value not in vocab.terms else value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _number(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


@dataclass(frozen=True)
class QuantityElement:
    """An amount of a class of things (epcClass), optionally with a UN/CEFACT unit of measure."""

    epc_class: str
    quantity: Decimal | None = None
    uom: str | None = None


@dataclass(frozen=True)
class BizTransaction:
    """A business transaction reference; `type` as a CBV Web URI (or the custom URI given)."""

    value: str
    type: str | None = None

    @property
    def type_name(self) -> str | None:
        """The short type name ("po") for a CBV type; a custom type as given."""
        return None if self.type is None else BIZ_TRANSACTION_TYPE.short_name(self.type)


@dataclass(frozen=True)
class SourceDest:
    """A source or destination: its type (CBV Web URI) and the party or location it names."""

    type: str
    id: str

    @property
    def type_name(self) -> str:
        """The short type name ("owning_party", "possessing_party", "location") for a CBV type."""
        return SOURCE_DEST_TYPE.short_name(self.type)


@dataclass(frozen=True)
class PersistentDisposition:
    """Dispositions set and unset by the event, as CBV Web URIs."""

    set: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensorMetadata:
    """What a sensor element's reports have in common (device, time window, rules)."""

    time: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    device_id: str | None = None
    device_metadata: str | None = None
    raw_data: str | None = None
    data_processing_method: str | None = None
    biz_rules: str | None = None


@dataclass(frozen=True)
class SensorReport:
    """One sensor reading; `type` is a GS1 Web URI such as https://gs1.org/voc/Temperature (or a custom URI)."""

    type: str | None = None
    value: Decimal | None = None
    uom: str | None = None
    time: str | None = None
    exception: str | None = None
    device_id: str | None = None
    device_metadata: str | None = None
    raw_data: str | None = None
    data_processing_method: str | None = None
    biz_rules: str | None = None
    microorganism: str | None = None
    chemical_substance: str | None = None
    coordinate_reference_system: str | None = None
    component: str | None = None
    string_value: str | None = None
    boolean_value: bool | None = None
    hex_binary_value: str | None = None
    uri_value: str | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    mean_value: Decimal | None = None
    s_dev: Decimal | None = None
    perc_rank: Decimal | None = None
    perc_value: Decimal | None = None

    @property
    def type_name(self) -> str | None:
        """The short measurement type ("Temperature") for a GS1 type; a custom type as given."""
        return None if self.type is None else MEASUREMENT_TYPE.short_name(self.type)


@dataclass(frozen=True)
class SensorElement:
    """Sensor metadata and the reports it applies to."""

    metadata: SensorMetadata | None
    reports: tuple[SensorReport, ...]


@dataclass(frozen=True)
class ErrorDeclaration:
    """The declaration that an event was in error: when, why (CBV Web URI) and which events correct it."""

    declaration_time: str
    reason: str | None = None
    corrective_event_ids: tuple[str, ...] = ()

    @property
    def reason_name(self) -> str | None:
        """The short reason ("did_not_occur", "incorrect_data") for a CBV reason; a custom one as given."""
        return None if self.reason is None else ERROR_REASON.short_name(self.reason)


_METADATA_KEYS = {"time": "time", "startTime": "start_time", "endTime": "end_time", "deviceID": "device_id",
                  "deviceMetadata": "device_metadata", "rawData": "raw_data",
                  "dataProcessingMethod": "data_processing_method", "bizRules": "biz_rules"}
_REPORT_TEXT_KEYS = {"uom": "uom", "time": "time", "deviceID": "device_id", "deviceMetadata": "device_metadata",
                     "rawData": "raw_data", "dataProcessingMethod": "data_processing_method", "bizRules": "biz_rules",
                     "microorganism": "microorganism", "chemicalSubstance": "chemical_substance",
                     "coordinateReferenceSystem": "coordinate_reference_system", "stringValue": "string_value",
                     "hexBinaryValue": "hex_binary_value", "uriValue": "uri_value"}
_REPORT_NUMBER_KEYS = {"value": "value", "minValue": "min_value", "maxValue": "max_value", "meanValue": "mean_value",
                       "sDev": "s_dev", "percRank": "perc_rank", "percValue": "perc_value"}

#: Every standard (non-extension) member of an EPCIS 2.0 event, whatever its type.
STANDARD_EVENT_KEYS = frozenset({
    "@context", "type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "certificationInfo",
    "errorDeclaration", "action", "epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList", "quantityList",
    "childQuantityList", "inputQuantityList", "outputQuantityList", "transformationID", "bizStep", "disposition",
    "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList",
    "sensorElementList", "ilmd"})


def _quantities(value: Any) -> tuple[QuantityElement, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(QuantityElement(q["epcClass"], _number(q.get("quantity")), _text(q.get("uom")))
                 for q in value if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str))


def _sensor_element(element: Mapping, prefixes: Mapping[str, str]) -> SensorElement:
    meta = element.get("sensorMetadata")
    metadata = None
    if isinstance(meta, Mapping):
        metadata = SensorMetadata(**{attr: _text(meta.get(key)) for key, attr in _METADATA_KEYS.items()})
    reports = []
    for report in element.get("sensorReport") or ():
        if not isinstance(report, Mapping):
            continue
        values: dict[str, Any] = {attr: _text(report.get(key)) for key, attr in _REPORT_TEXT_KEYS.items()}
        values.update({attr: _number(report.get(key)) for key, attr in _REPORT_NUMBER_KEYS.items()})
        boolean = report.get("booleanValue")
        values["boolean_value"] = boolean if isinstance(boolean, bool) else None
        values["type"] = _vocab(MEASUREMENT_TYPE, report.get("type"), prefixes)
        values["exception"] = _vocab(SENSOR_ALERT_TYPE, report.get("exception"), prefixes)
        values["component"] = _vocab(COMPONENT, report.get("component"), prefixes)
        reports.append(SensorReport(**values))
    return SensorElement(metadata, tuple(reports))


def _used_prefixes(value: Any, prefixes: Mapping[str, str], found: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key == "@context":
                continue
            if isinstance(key, str):
                head, sep, tail = key.partition(":")
                if sep and not tail.startswith("//") and head in prefixes:
                    found[head] = prefixes[head]
            _used_prefixes(child, prefixes, found)
    elif isinstance(value, list):
        for child in value:
            _used_prefixes(child, prefixes, found)
    elif isinstance(value, str):
        head, sep, tail = value.partition(":")
        if sep and not tail.startswith("//") and head in prefixes:
            found[head] = prefixes[head]


def used_namespaces(raw: Mapping[str, Any], prefixes: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The (prefix, IRI) pairs, sorted, that an event's member names and values use, out of `prefixes`."""
    known = dict(STANDARD_PREFIXES)
    known.update(prefixes)
    known.update(context_prefixes(raw.get("@context")))
    used: dict[str, str] = {}
    _used_prefixes(raw, known, used)
    return tuple(sorted(used.items()))


@dataclass(frozen=True)
class EpcisEvent:
    """One EPCIS event: its fields parsed, and `raw`, the event's JSON object exactly as received (read-only)."""

    type: str
    event_time: str
    event_time_zone_offset: str
    action: str | None = None
    record_time: str | None = None
    event_id: str | None = None
    certification_info: tuple[str, ...] = ()
    epc_list: tuple[str, ...] = ()
    parent_id: str | None = None
    child_epcs: tuple[str, ...] = ()
    input_epc_list: tuple[str, ...] = ()
    output_epc_list: tuple[str, ...] = ()
    quantity_list: tuple[QuantityElement, ...] = ()
    child_quantity_list: tuple[QuantityElement, ...] = ()
    input_quantity_list: tuple[QuantityElement, ...] = ()
    output_quantity_list: tuple[QuantityElement, ...] = ()
    transformation_id: str | None = None
    biz_step: str | None = None
    disposition: str | None = None
    persistent_disposition: PersistentDisposition | None = None
    read_point: str | None = None
    biz_location: str | None = None
    biz_transaction_list: tuple[BizTransaction, ...] = ()
    source_list: tuple[SourceDest, ...] = ()
    destination_list: tuple[SourceDest, ...] = ()
    sensor_element_list: tuple[SensorElement, ...] = ()
    error_declaration: ErrorDeclaration | None = None
    #: The namespace prefixes (prefix, IRI) the event's extension names and values use, sorted.
    namespaces: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> EpcisEvent:
        """The event a (validated) EPCIS JSON object describes; `prefixes` are the document's @context prefixes."""
        known = dict(STANDARD_PREFIXES)
        known.update(prefixes or {})
        known.update(context_prefixes(raw.get("@context")))
        pd = raw.get("persistentDisposition")
        error = raw.get("errorDeclaration")
        return cls(
            type=raw["type"],
            event_time=raw["eventTime"],
            event_time_zone_offset=raw["eventTimeZoneOffset"],
            action=_text(raw.get("action")),
            record_time=_text(raw.get("recordTime")),
            event_id=_text(raw.get("eventID")),
            certification_info=_texts(raw.get("certificationInfo")),
            epc_list=_texts(raw.get("epcList")),
            parent_id=_text(raw.get("parentID")),
            child_epcs=_texts(raw.get("childEPCs")),
            input_epc_list=_texts(raw.get("inputEPCList")),
            output_epc_list=_texts(raw.get("outputEPCList")),
            quantity_list=_quantities(raw.get("quantityList")),
            child_quantity_list=_quantities(raw.get("childQuantityList")),
            input_quantity_list=_quantities(raw.get("inputQuantityList")),
            output_quantity_list=_quantities(raw.get("outputQuantityList")),
            transformation_id=_text(raw.get("transformationID")),
            biz_step=_vocab(BIZ_STEP, raw.get("bizStep"), known),
            disposition=_vocab(DISPOSITION, raw.get("disposition"), known),
            persistent_disposition=None if not isinstance(pd, Mapping) else PersistentDisposition(
                tuple(_vocab(DISPOSITION, d, known) for d in _texts(pd.get("set"))),
                tuple(_vocab(DISPOSITION, d, known) for d in _texts(pd.get("unset")))),
            read_point=_text((raw.get("readPoint") or {}).get("id")),
            biz_location=_text((raw.get("bizLocation") or {}).get("id")),
            biz_transaction_list=tuple(
                BizTransaction(t["bizTransaction"], _vocab(BIZ_TRANSACTION_TYPE, t.get("type"), known))
                for t in raw.get("bizTransactionList") or () if isinstance(t, Mapping)),
            source_list=tuple(SourceDest(_vocab(SOURCE_DEST_TYPE, s.get("type"), known), s["source"])
                              for s in raw.get("sourceList") or () if isinstance(s, Mapping)),
            destination_list=tuple(SourceDest(_vocab(SOURCE_DEST_TYPE, d.get("type"), known), d["destination"])
                                   for d in raw.get("destinationList") or () if isinstance(d, Mapping)),
            sensor_element_list=tuple(_sensor_element(e, known) for e in raw.get("sensorElementList") or ()
                                      if isinstance(e, Mapping)),
            error_declaration=None if not isinstance(error, Mapping) else ErrorDeclaration(
                error["declarationTime"], _vocab(ERROR_REASON, error.get("reason"), known),
                _texts(error.get("correctiveEventIDs"))),
            namespaces=used_namespaces(raw, known),
            raw=raw,
        )

    @property
    def biz_step_name(self) -> str | None:
        """The bizStep's CBV short name ("shipping"), or the custom URI as given."""
        return None if self.biz_step is None else BIZ_STEP.short_name(self.biz_step)

    @property
    def disposition_name(self) -> str | None:
        """The disposition's CBV short name ("in_transit"), or the custom URI as given."""
        return None if self.disposition is None else DISPOSITION.short_name(self.disposition)

    @property
    def ilmd(self) -> Mapping[str, Any] | None:
        """The instance/lot master data, as received."""
        value = self.raw.get("ilmd")
        return value if isinstance(value, Mapping) else None

    @property
    def extensions(self) -> dict[str, Any]:
        """The event's user extension members (name as written -> JSON value)."""
        return {k: v for k, v in self.raw.items() if k not in STANDARD_EVENT_KEYS and k not in COMMENT_KEYS}

    def epcs(self) -> Iterator[str]:
        """Every instance-level identifier the event names: epcList, parentID, childEPCs, inputs and outputs."""
        yield from self.epc_list
        if self.parent_id is not None:
            yield self.parent_id
        yield from self.child_epcs
        yield from self.input_epc_list
        yield from self.output_epc_list

    def epc_classes(self) -> Iterator[str]:
        """Every class-level identifier in the event's quantity lists."""
        for group in (self.quantity_list, self.child_quantity_list, self.input_quantity_list,
                      self.output_quantity_list):
            for element in group:
                yield element.epc_class
