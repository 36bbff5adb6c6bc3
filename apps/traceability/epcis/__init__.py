"""EPCIS 2.0 events for the traceability app: JSON-LD documents, validation, the CBV 2.0 event hash and queries.

Pure Python (standard library and the project's GS1 identifier modules); no
chain access and no files read at run time.
"""
from __future__ import annotations

from apps.traceability.epcis.document import (
    SensorReading,
    dumps,
    error_declaration,
    event_from_fields,
    load_json,
    parse_document,
    to_document,
)
from apps.traceability.epcis.epc_uris import canonical_link, parse_epc_urn
from apps.traceability.epcis.errors import EpcisError
from apps.traceability.epcis.event_hash import event_hash, prehash_string
from apps.traceability.epcis.model import (
    APP_EVENT_TYPES,
    EVENT_TYPES,
    BizTransaction,
    EpcisEvent,
    ErrorDeclaration,
    PersistentDisposition,
    QuantityElement,
    SensorElement,
    SensorMetadata,
    SensorReport,
    SourceDest,
)
from apps.traceability.epcis.query import EpcPattern, Page, Query, filter_events, parse_query_params
from apps.traceability.epcis.validate import MAX_EVENTS, validate_document, validate_event

__all__ = [
    "APP_EVENT_TYPES", "EVENT_TYPES", "MAX_EVENTS", "BizTransaction", "EpcPattern", "EpcisError", "EpcisEvent",
    "ErrorDeclaration", "Page", "PersistentDisposition", "QuantityElement", "Query", "SensorElement",
    "SensorMetadata", "SensorReading", "SensorReport", "SourceDest", "canonical_link", "dumps", "error_declaration",
    "event_from_fields", "event_hash", "filter_events", "load_json", "parse_document", "parse_epc_urn",
    "parse_query_params", "prehash_string", "to_document", "validate_document", "validate_event",
]
