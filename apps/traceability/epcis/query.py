"""EPCIS 2.0 simple event query parameters, evaluated in memory over parsed events.

`parse_query_params` turns request parameters (name -> text, or list of texts;
list values may also be pipe-separated as in the REST binding) into a Query,
refusing unknown names and bad values with an EpcisError naming the
parameter. `Query.matches` is a predicate on one event, so a database-backed
caller can pre-filter coarsely and apply it after; `Query.filter` also orders
and limits (orderBy, orderDirection, eventCountLimit, maxEventCount) and
`Query.page` cuts pages (perPage, nextPageToken).

Matching identifiers (MATCH_*, EQ_readPoint, ...) compares canonical forms,
so an EPC URN and the Digital Link of the same thing match. MATCH_* values
may be EPC pattern URNs (urn:epc:idpat:sgtin:0614141.107346.*) or end in a
trailing * (https://id.gs1.org/01/09506000134352/21/*): a prefix match.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from apps.traceability.epcis.epc_uris import EpcUrn, UriSyntaxError, canonical_link, epc_urn_of_link, parse_epc_urn
from apps.traceability.epcis.errors import EpcisError
from apps.traceability.epcis.model import ACTIONS, EVENT_TYPES, EpcisEvent, expand_curie
from apps.traceability.epcis.timestamps import instant, is_timestamp
from apps.traceability.epcis.validate import uri_problem
from apps.traceability.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    DISPOSITION,
    ERROR_REASON,
    SOURCE_DEST_TYPE,
    STANDARD_PREFIXES,
    Vocabulary,
)

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 10_000
MAX_VALUES = 1_000  # values in one list-valued parameter


def _canonical(uri: str) -> str:
    return canonical_link(uri) or uri


@dataclass(frozen=True)
class EpcPattern:
    """One MATCH_* value: an exact identifier, an EPC pattern URN, or a prefix ending in *."""

    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", self._compile())  # raises UriSyntaxError for a malformed pattern

    def _compile(self) -> tuple[str, Any]:
        text = self.text
        if text.startswith("urn:epc:id:") and text.endswith(".*"):
            text = "urn:epc:idpat:" + text[len("urn:epc:id:"):]
        if text.startswith("urn:epc:idpat:"):
            urn = parse_epc_urn(text)
            if urn is None:
                raise UriSyntaxError(f"{self.text!r} is not an EPC pattern of a known scheme")
            return "pattern", urn
        if text.endswith("*"):
            prefix = text[:-1]
            link = canonical_link(prefix.rstrip("/"))
            canonical = None if link is None else link + ("/" if prefix.endswith("/") else "")
            return "prefix", (prefix, canonical)
        return "exact", (text, _canonical(text))

    def matches(self, epc: str) -> bool:
        """True if the identifier (EPC URN or Digital Link) matches this value."""
        kind, data = self._compiled  # type: ignore[attr-defined]
        if kind == "exact":
            return epc == data[0] or _canonical(epc) == data[1]
        if kind == "prefix":
            prefix, canonical = data
            return epc.startswith(prefix) or (canonical is not None and _canonical(epc).startswith(canonical))
        return _pattern_matches(data, epc)


def _pattern_matches(pattern: EpcUrn, epc: str) -> bool:
    try:
        urn = parse_epc_urn(epc) if epc.startswith("urn:epc:") else None
    except UriSyntaxError:
        return False
    if urn is None and not epc.startswith("urn:epc:"):
        length = len(pattern.fields[0]) if pattern.fields[0] != "*" else 7
        urn = epc_urn_of_link(epc, length)
    if urn is None or urn.kind != "id" or urn.scheme != pattern.scheme:
        return False
    return all(p == "*" or p == f for p, f in zip(pattern.fields, urn.fields))


def _any(patterns: tuple[EpcPattern, ...], values: Iterable[str]) -> bool:
    return any(p.matches(v) for v in values for p in patterns)


@dataclass(frozen=True)
class Page:
    """One page of query results and the token for the next page (None on the last)."""

    events: tuple[EpcisEvent, ...]
    next_page_token: str | None


@dataclass(frozen=True)
class Query:
    """The parsed parameters of an EPCIS simple event query (None or () = not constrained)."""

    event_types: tuple[str, ...] = ()
    ge_event_time: str | None = None
    lt_event_time: str | None = None
    ge_record_time: str | None = None
    lt_record_time: str | None = None
    actions: tuple[str, ...] = ()
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    persistent_disposition_set: tuple[str, ...] = ()
    persistent_disposition_unset: tuple[str, ...] = ()
    read_points: tuple[str, ...] = ()
    biz_locations: tuple[str, ...] = ()
    transformation_ids: tuple[str, ...] = ()
    match_epc: tuple[EpcPattern, ...] = ()
    match_parent_id: tuple[EpcPattern, ...] = ()
    match_input_epc: tuple[EpcPattern, ...] = ()
    match_output_epc: tuple[EpcPattern, ...] = ()
    match_any_epc: tuple[EpcPattern, ...] = ()
    match_epc_class: tuple[EpcPattern, ...] = ()
    match_input_epc_class: tuple[EpcPattern, ...] = ()
    match_output_epc_class: tuple[EpcPattern, ...] = ()
    match_any_epc_class: tuple[EpcPattern, ...] = ()
    event_ids: tuple[str, ...] = ()
    exists_error_declaration: bool = False
    ge_error_declaration_time: str | None = None
    lt_error_declaration_time: str | None = None
    error_reasons: tuple[str, ...] = ()
    corrective_event_ids: tuple[str, ...] = ()
    #: EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>: (type Web URI, canonical ids) pairs.
    biz_transactions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    destinations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    order_by: str | None = None
    order_direction: str = "DESC"
    event_count_limit: int | None = None
    max_event_count: int | None = None
    per_page: int | None = None
    next_page_token: str | None = None

    def matches(self, event: EpcisEvent) -> bool:
        """True if the event meets every condition (ordering, limits and paging aside)."""
        if self.event_types and event.type not in self.event_types:
            return False
        if not self._times_match(event):
            return False
        if self.actions and event.action not in self.actions:
            return False
        if self.biz_steps and event.biz_step not in self.biz_steps:
            return False
        if self.dispositions and event.disposition not in self.dispositions:
            return False
        pd = event.persistent_disposition
        if self.persistent_disposition_set and not (pd and set(pd.set) & set(self.persistent_disposition_set)):
            return False
        if self.persistent_disposition_unset and not (
                pd and set(pd.unset) & set(self.persistent_disposition_unset)):
            return False
        if self.read_points and (event.read_point is None or _canonical(event.read_point) not in self.read_points):
            return False
        if self.biz_locations and (event.biz_location is None
                                   or _canonical(event.biz_location) not in self.biz_locations):
            return False
        if self.transformation_ids and event.transformation_id not in self.transformation_ids:
            return False
        if self.event_ids and event.event_id not in self.event_ids:
            return False
        return self._identifiers_match(event) and self._errors_match(event) and self._parties_match(event)

    def _times_match(self, event: EpcisEvent) -> bool:
        moment = instant(event.event_time)
        if self.ge_event_time is not None and moment < instant(self.ge_event_time):
            return False
        if self.lt_event_time is not None and moment >= instant(self.lt_event_time):
            return False
        if self.ge_record_time is not None or self.lt_record_time is not None:
            if event.record_time is None:
                return False
            recorded = instant(event.record_time)
            if self.ge_record_time is not None and recorded < instant(self.ge_record_time):
                return False
            if self.lt_record_time is not None and recorded >= instant(self.lt_record_time):
                return False
        return True

    def _identifiers_match(self, event: EpcisEvent) -> bool:
        checks = (
            (self.match_epc, (*event.epc_list, *event.child_epcs)),
            (self.match_parent_id, () if event.parent_id is None else (event.parent_id,)),
            (self.match_input_epc, event.input_epc_list),
            (self.match_output_epc, event.output_epc_list),
            (self.match_any_epc, tuple(event.epcs())),
            (self.match_epc_class, tuple(q.epc_class for q in (*event.quantity_list, *event.child_quantity_list))),
            (self.match_input_epc_class, tuple(q.epc_class for q in event.input_quantity_list)),
            (self.match_output_epc_class, tuple(q.epc_class for q in event.output_quantity_list)),
            (self.match_any_epc_class, tuple(event.epc_classes())),
        )
        return all(not patterns or _any(patterns, values) for patterns, values in checks)

    def _errors_match(self, event: EpcisEvent) -> bool:
        error = event.error_declaration
        wants_error = (self.exists_error_declaration or self.error_reasons or self.corrective_event_ids
                       or self.ge_error_declaration_time is not None or self.lt_error_declaration_time is not None)
        if not wants_error:
            return True
        if error is None:
            return False
        if self.error_reasons and error.reason not in self.error_reasons:
            return False
        if self.corrective_event_ids and not set(error.corrective_event_ids) & set(self.corrective_event_ids):
            return False
        declared = instant(error.declaration_time)
        if self.ge_error_declaration_time is not None and declared < instant(self.ge_error_declaration_time):
            return False
        return self.lt_error_declaration_time is None or declared < instant(self.lt_error_declaration_time)

    def _parties_match(self, event: EpcisEvent) -> bool:
        for wanted, have in (
            (self.biz_transactions, [(t.type, t.value) for t in event.biz_transaction_list]),
            (self.sources, [(s.type, s.id) for s in event.source_list]),
            (self.destinations, [(d.type, d.id) for d in event.destination_list]),
        ):
            for kind, ids in wanted:
                if not any(t == kind and _canonical(v) in ids for t, v in have):
                    return False
        return True

    def filter(self, events: Iterable[EpcisEvent]) -> list[EpcisEvent]:
        """The matching events, ordered and limited as the query asks (orderBy, eventCountLimit, maxEventCount)."""
        found = [e for e in events if self.matches(e)]
        if self.order_by is not None:
            def key(event: EpcisEvent) -> Decimal:
                stamp = event.event_time if self.order_by == "eventTime" else event.record_time
                return instant(stamp) if stamp is not None else Decimal("-Infinity")
            found.sort(key=key, reverse=self.order_direction == "DESC")
        if self.event_count_limit is not None:
            found = found[:self.event_count_limit]
        if self.max_event_count is not None and len(found) > self.max_event_count:
            raise EpcisError(f"QueryTooLargeException: {len(found)} events match, more than maxEventCount "
                             f"{self.max_event_count}", "maxEventCount")
        return found

    def fingerprint(self) -> str:
        """A short digest of the query's conditions (not its paging), which page tokens are tied to."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("per_page", "next_page_token")}
        text = json.dumps(values, default=lambda v: v.text if isinstance(v, EpcPattern) else str(v), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def page(self, events: Iterable[EpcisEvent]) -> Page:
        """One page of `filter(events)`: perPage events from where nextPageToken points."""
        found = self.filter(events)
        size = self.per_page or DEFAULT_PER_PAGE
        start = 0
        if self.next_page_token is not None:
            offset, fingerprint = _read_token(self.next_page_token)
            if fingerprint != self.fingerprint():
                raise EpcisError("nextPageToken belongs to another query", "nextPageToken")
            start = offset
        end = start + size
        token = page_token(end, self.fingerprint()) if end < len(found) else None
        return Page(tuple(found[start:end]), token)


def page_token(offset: int, fingerprint: str) -> str:
    """An opaque nextPageToken for a result offset of the query with this fingerprint."""
    text = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_token(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset, fingerprint = data["o"], data["q"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or not isinstance(fingerprint, str):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise EpcisError("not a nextPageToken this server issued", "nextPageToken") from None
    return offset, fingerprint


# --- parsing -----------------------------------------------------------------------------------------------------

def _values(name: str, raw: Any) -> list[str]:
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise EpcisError("values must be text", name)
        for part in str(item).split("|"):
            part = part.strip()
            if not part:
                raise EpcisError("empty value", name)
            out.append(part)
    if len(out) > MAX_VALUES:
        raise EpcisError(f"at most {MAX_VALUES} values", name)
    return out


def _single(name: str, raw: Any) -> str:
    values = _values(name, raw)
    if len(values) != 1:
        raise EpcisError("takes exactly one value", name)
    return values[0]


def _time(name: str, raw: Any) -> str:
    value = _single(name, raw)
    if not is_timestamp(value):
        raise EpcisError(f"{value!r} is not a timestamp with a time zone", name)
    return value


def _positive(name: str, raw: Any, limit: int | None = None) -> int:
    value = _single(name, raw)
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise EpcisError(f"{value!r} is not a positive whole number", name)
    if limit is not None and int(value) > limit:
        raise EpcisError(f"at most {limit}", name)
    return int(value)


def _uris(name: str, raw: Any) -> tuple[str, ...]:
    values = _values(name, raw)
    for value in values:
        problem = uri_problem(value)
        if problem is not None:
            raise EpcisError(problem, name)
    return tuple(values)


def _vocabulary(vocab: Vocabulary, name: str, raw: Any) -> tuple[str, ...]:
    out = []
    for value in _values(name, raw):
        if value not in vocab.terms and ":" not in value:
            raise EpcisError(f"{value!r} is not a CBV {vocab.name} nor a URI", name)
        out.append(vocab.expand(expand_curie(value, STANDARD_PREFIXES) if value not in vocab.terms else value))
    return tuple(out)


def _patterns(name: str, raw: Any) -> tuple[EpcPattern, ...]:
    out = []
    for value in _values(name, raw):
        try:
            out.append(EpcPattern(value))
        except UriSyntaxError as error:
            raise EpcisError(str(error), name) from None
        if not value.endswith("*") and not value.startswith("urn:epc:idpat:"):
            problem = uri_problem(value)
            if problem is not None:
                raise EpcisError(problem, name)
    return tuple(out)


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = _single(name, raw).lower()
    if value not in ("true", "false"):
        raise EpcisError("must be true or false", name)
    return value == "true"


_TIME_PARAMS = {"GE_eventTime": "ge_event_time", "LT_eventTime": "lt_event_time",
                "GE_recordTime": "ge_record_time", "LT_recordTime": "lt_record_time",
                "GE_errorDeclarationTime": "ge_error_declaration_time",
                "LT_errorDeclarationTime": "lt_error_declaration_time"}
_MATCH_PARAMS = {"MATCH_epc": "match_epc", "MATCH_parentID": "match_parent_id", "MATCH_inputEPC": "match_input_epc",
                 "MATCH_outputEPC": "match_output_epc", "MATCH_anyEPC": "match_any_epc",
                 "MATCH_epcClass": "match_epc_class", "MATCH_inputEPCClass": "match_input_epc_class",
                 "MATCH_outputEPCClass": "match_output_epc_class", "MATCH_anyEPCClass": "match_any_epc_class"}
_VOCABULARY_PARAMS = {"EQ_bizStep": ("biz_steps", BIZ_STEP), "EQ_disposition": ("dispositions", DISPOSITION),
                      "EQ_persistentDisposition_set": ("persistent_disposition_set", DISPOSITION),
                      "EQ_persistentDisposition_unset": ("persistent_disposition_unset", DISPOSITION),
                      "EQ_errorReason": ("error_reasons", ERROR_REASON)}
_TYPED_PARAMS = {"EQ_bizTransaction_": ("biz_transactions", BIZ_TRANSACTION_TYPE),
                 "EQ_source_": ("sources", SOURCE_DEST_TYPE), "EQ_destination_": ("destinations", SOURCE_DEST_TYPE)}


def parse_query_params(params: Mapping[str, Any]) -> Query:
    """A Query from EPCIS simple event query parameters; EpcisError names any unknown or malformed parameter."""
    values: dict[str, Any] = {}
    typed: dict[str, list[tuple[str, tuple[str, ...]]]] = {"biz_transactions": [], "sources": [], "destinations": []}
    for name, raw in params.items():
        if not isinstance(name, str):
            raise EpcisError("parameter names are text", str(name))
        if name == "eventType":
            types = tuple(_values(name, raw))
            for kind in types:
                if kind not in EVENT_TYPES:
                    raise EpcisError(f"{kind!r} is not an EPCIS event type", name)
            values["event_types"] = types
        elif name in _TIME_PARAMS:
            values[_TIME_PARAMS[name]] = _time(name, raw)
        elif name == "EQ_action":
            actions = tuple(_values(name, raw))
            for action in actions:
                if action not in ACTIONS:
                    raise EpcisError(f"{action!r} is not ADD, OBSERVE or DELETE", name)
            values["actions"] = actions
        elif name in _VOCABULARY_PARAMS:
            attr, vocab = _VOCABULARY_PARAMS[name]
            values[attr] = _vocabulary(vocab, name, raw)
        elif name in ("EQ_readPoint", "EQ_bizLocation"):
            values["read_points" if name == "EQ_readPoint" else "biz_locations"] = tuple(
                _canonical(u) for u in _uris(name, raw))
        elif name in ("EQ_transformationID", "EQ_eventID", "EQ_correctiveEventID"):
            attr = {"EQ_transformationID": "transformation_ids", "EQ_eventID": "event_ids",
                    "EQ_correctiveEventID": "corrective_event_ids"}[name]
            values[attr] = _uris(name, raw)
        elif name in _MATCH_PARAMS:
            values[_MATCH_PARAMS[name]] = _patterns(name, raw)
        elif name == "EXISTS_errorDeclaration":
            values["exists_error_declaration"] = _boolean(name, raw)
        elif name == "orderBy":
            value = _single(name, raw)
            if value not in ("eventTime", "recordTime"):
                raise EpcisError("orderBy is eventTime or recordTime here", name)
            values["order_by"] = value
        elif name == "orderDirection":
            value = _single(name, raw)
            if value not in ("ASC", "DESC"):
                raise EpcisError("orderDirection is ASC or DESC", name)
            values["order_direction"] = value
        elif name in ("eventCountLimit", "maxEventCount"):
            values["event_count_limit" if name == "eventCountLimit" else "max_event_count"] = _positive(name, raw)
        elif name == "perPage":
            values["per_page"] = _positive(name, raw, MAX_PER_PAGE)
        elif name == "nextPageToken":
            token = _single(name, raw)
            _read_token(token)
            values["next_page_token"] = token
        elif any(name.startswith(p) and len(name) > len(p) for p in _TYPED_PARAMS):
            prefix = next(p for p in _TYPED_PARAMS if name.startswith(p))
            attr, vocab = _TYPED_PARAMS[prefix]
            kind = name[len(prefix):]
            typed[attr].append((vocab.expand(kind), tuple(_canonical(u) for u in _uris(name, raw))))
        else:
            raise EpcisError("unknown query parameter", name)
    for attr, pairs in typed.items():
        if pairs:
            values[attr] = tuple(pairs)
    if "event_count_limit" in values and "max_event_count" in values:
        raise EpcisError("eventCountLimit and maxEventCount exclude each other", "eventCountLimit")
    if "event_count_limit" in values and "order_by" not in values:
        raise EpcisError("eventCountLimit needs orderBy", "eventCountLimit")
    if "order_direction" in values and "order_by" not in values:
        raise EpcisError("orderDirection needs orderBy", "orderDirection")
    return Query(**values)


def filter_events(events: Iterable[EpcisEvent], params: Mapping[str, Any]) -> list[EpcisEvent]:
    """The events matching query parameters, ordered and limited as they ask."""
    return parse_query_params(params).filter(events)

