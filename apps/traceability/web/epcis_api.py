"""The EPCIS 2.0 REST binding (JSON only): capture documents, follow capture jobs, query events, fetch one event.

POST /epcis/capture takes an EPCISDocument (or EPCISQueryDocument) and
anchors all of its events in one transaction or none ("rollback", the only
capture error behaviour offered); it answers 202 with the Location of its
capture job, which is already finished. Callers sign in with HTTP Basic (a
console account of a brand, logistics or retail organisation) or a console
session (which must then send its CSRF token in X-CSRF-Token). Errors are RFC
7807 problem documents naming the field at fault.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import ROUND_FLOOR
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy import or_, select
from werkzeug.exceptions import HTTPException

from apps.traceability.epc_keys import to_key
from apps.traceability.epcis import EpcisError, EpcisEvent, Query, dumps, load_json, parse_document, \
    parse_query_params, to_document
from apps.traceability.epcis.timestamps import instant
from apps.traceability.epcis.vocabulary import BIZ_STEP, DISPOSITION, Vocabulary
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import IdentifierError
from apps.traceability.jobs import FAILED, QUEUED, RUNNING, Job, capture_work
from apps.traceability.service import MAX_CAPTURE_EVENTS
from apps.traceability.store import Event, EventEpc
from apps.traceability.web.auth import TraceUser
from apps.traceability.web.console import WRITERS, check_password, csrf_ok, runner, service, session_user

log = logging.getLogger(__name__)

epcis_api = Blueprint("trace_epcis", __name__, url_prefix="/epcis")

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
#: Largest capture request body accepted.
CAPTURE_FILE_SIZE_LIMIT = 8 * 1024 * 1024
_JSON_TYPES = ("application/json", "application/ld+json")
_ROLES = {"MATCH_epc": ("epc", "child"), "MATCH_parentID": ("parent",), "MATCH_inputEPC": ("input",),
          "MATCH_outputEPC": ("output",), "MATCH_anyEPC": ("epc", "child", "parent", "input", "output")}
_PATTERNS = {"MATCH_epc": "match_epc", "MATCH_parentID": "match_parent_id", "MATCH_inputEPC": "match_input_epc",
             "MATCH_outputEPC": "match_output_epc", "MATCH_anyEPC": "match_any_epc"}


class Problem(Exception):
    """An RFC 7807 problem the API answers with."""

    def __init__(self, status: int, kind: str, title: str, detail: str, field: str = "") -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.field = status, kind, title, detail, field

    def to_json(self) -> dict[str, Any]:
        """The problem document."""
        return {"type": f"epcisException:{self.kind}", "title": self.title, "status": self.status,
                "detail": self.detail, "field": self.field}


def _json(body: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    return current_app.response_class(dumps(body), status=status, mimetype=mimetype)


@epcis_api.errorhandler(Problem)
def _problem(exc: Problem) -> Response:
    response = _json(exc.to_json(), exc.status, "application/problem+json")
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="EPCIS", charset="UTF-8"'
    if exc.status == 413:
        response.headers["GS1-EPCIS-Capture-Limit"] = str(MAX_CAPTURE_EVENTS)
        response.headers["GS1-EPCIS-Capture-File-Size-Limit"] = str(CAPTURE_FILE_SIZE_LIMIT)
    return response


@epcis_api.errorhandler(TraceError)
def _trace_error(exc: TraceError) -> Response:
    return _problem(Problem(exc.status, "ValidationException" if exc.status < 500 else "ImplementationException",
                            "Request refused", exc.message, exc.field))


@epcis_api.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Response:
    kind = "NoSuchResourceException" if exc.code == 404 else "ImplementationException"
    return _problem(Problem(exc.code or 500, kind, exc.name, exc.description or exc.name))


@epcis_api.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("EPCIS API failure")
    return _problem(Problem(500, "ImplementationException", "Implementation exception",
                            "the server failed to answer; the details are in its log"))


@epcis_api.after_request
def _versions(response: Response) -> Response:
    response.headers["GS1-EPCIS-Version"] = EPCIS_VERSION
    response.headers["GS1-CBV-Version"] = CBV_VERSION
    if request.endpoint == "trace_epcis.capture":
        response.headers["GS1-EPCIS-Capture-Limit"] = str(MAX_CAPTURE_EVENTS)
        response.headers["GS1-EPCIS-Capture-File-Size-Limit"] = str(CAPTURE_FILE_SIZE_LIMIT)
        response.headers["GS1-Capture-Error-Behaviour"] = "rollback"
    return response


def api_user(write: bool = False) -> TraceUser:
    """The caller: HTTP Basic with a console account, or the console session; writers for a capture."""
    auth = request.authorization
    if auth is not None:
        if auth.type != "basic":
            raise Problem(401, "SecurityException", "Unauthorised request", "use HTTP Basic authentication",
                          "Authorization")
        user = check_password(auth.username or "", auth.password or "")
        if user is None:
            raise Problem(401, "SecurityException", "Unauthorised request", "wrong user name or password",
                          "Authorization")
    else:
        user = session_user()
        if user is None:
            raise Problem(401, "SecurityException", "Unauthorised request",
                          "sign in with HTTP Basic (a console account) or a console session", "Authorization")
        if write and not csrf_ok(request.headers.get("X-CSRF-Token")):
            raise Problem(403, "SecurityException", "Client unauthorised",
                          "a capture in a console session must send the session's CSRF token", "X-CSRF-Token")
    if write and user.role not in WRITERS:
        raise Problem(403, "SecurityException", "Client unauthorised",
                      f"a {user.role} account reads events but does not capture them", "Authorization")
    return user


# --- capture ---------------------------------------------------------------------------------------------------------


@epcis_api.route("/capture", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def capture() -> Response:
    """Capture an EPCIS document (POST), list this organisation's capture jobs (GET), or discover limits (OPTIONS)."""
    if request.method == "OPTIONS":
        return current_app.response_class(status=204, headers={"Allow": "GET, POST, OPTIONS"})
    if request.method == "GET":
        user = api_user()
        return _json([_capture_job(j) for j in runner().jobs(user.org, "capture")])
    user = api_user(write=True)
    if request.mimetype not in _JSON_TYPES:
        raise Problem(415, "UnsupportedMediaTypeException", "Unsupported media type",
                      f"send the document as application/json, not {request.mimetype or 'nothing'}", "Content-Type")
    if (request.content_length or 0) > CAPTURE_FILE_SIZE_LIMIT:
        raise Problem(413, "CaptureLimitExceededException", "Capture payload too large",
                      f"at most {CAPTURE_FILE_SIZE_LIMIT} bytes per capture", "body")
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback")
    if behaviour != "rollback":
        raise Problem(501, "ImplementationException", "Not implemented",
                      "the chain anchors a document's events all or none: only rollback is offered",
                      "GS1-Capture-Error-Behaviour")
    try:
        document = load_json(request.get_data(cache=False))
        events = _event_count(document)
        if events > MAX_CAPTURE_EVENTS:
            raise Problem(413, "CaptureLimitExceededException", "Capture payload too large",
                          f"{events} events; at most {MAX_CAPTURE_EVENTS} per capture", "epcisBody.eventList")
        parse_document(document)
    except EpcisError as exc:
        raise Problem(400, "ValidationException", "Invalid EPCIS document", str(exc), exc.field) from None
    job = runner().run("capture", user.org, capture_work(service(), user.org, document))
    response = _json(_capture_job(job), 202)
    response.headers["Location"] = url_for("trace_epcis.capture_job", capture_id=job.id)
    return response


def _event_count(document: Any) -> int:
    if not isinstance(document, dict):
        return 0
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        return 0
    results = body.get("queryResults")
    if isinstance(results, dict):
        body = results.get("resultsBody") if isinstance(results.get("resultsBody"), dict) else {}
    found = body.get("eventList")
    return len(found) if isinstance(found, list) else 0


@epcis_api.get("/capture/<capture_id>")
def capture_job(capture_id: str) -> Response:
    """A capture job of the caller's organisation: running, success, errors (with the field), event IDs."""
    user = api_user()
    job = runner().get(capture_id)
    if job is None or job.kind != "capture" or job.org != user.org:
        raise Problem(404, "NoSuchResourceException", "Resource not found", f"no capture job {capture_id}",
                      "captureID")
    return _json(_capture_job(job))


def _capture_job(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {"captureID": job.id, "createdAt": _iso(job.created),
                            "running": job.state in (QUEUED, RUNNING), "success": job.state != FAILED,
                            "captureErrorBehaviour": "rollback", "errors": []}
    if job.finished is not None:
        body["finishedAt"] = _iso(job.finished)
    if job.state == FAILED:
        kind = "ValidationException" if 400 <= job.status < 500 else "ImplementationException"
        body["errors"] = [Problem(job.status or 500, kind, "Capture refused", job.error, job.field).to_json()]
    body["eventIDs"] = list(job.data.get("eventIDs", []))
    return body


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- queries ---------------------------------------------------------------------------------------------------------


@epcis_api.get("/events")
def events() -> Response:
    """Events matching EPCIS simple event query parameters, as an EPCISQueryDocument, a page at a time."""
    api_user()
    params = request.args.to_dict(flat=False)
    try:
        query = parse_query_params(params)
        page = query.page(_stored_event(row) for row in service().store.all(_candidates(query)))
    except EpcisError as exc:
        if str(exc).startswith("QueryTooLargeException"):
            raise Problem(413, "QueryTooLargeException", "Query too large", str(exc), exc.field) from None
        raise Problem(400, "QueryParameterException", "Invalid query parameter", str(exc), exc.field) from None
    response = _json(query_document(page.events))
    if page.next_page_token is not None:
        following = {k: v for k, v in params.items() if k != "nextPageToken"}
        following["nextPageToken"] = [page.next_page_token]
        response.headers["Link"] = f'<{url_for("trace_epcis.events")}?{urlencode(following, doseq=True)}>; rel="next"'
    return response


@epcis_api.get("/events/<path:event_id>")
def event(event_id: str) -> Response:
    """One event by its ID (its CBV 2.0 event hash), with the error declaration of it if there is one."""
    api_user()
    store = service().store
    found = store.get(Event, event_id)
    if found is None or found.corrects:
        raise Problem(404, "NoSuchResourceException", "Resource not found", f"no event {event_id}", "eventID")
    rows = [found]
    declaration = store.get(Event, found.corrected_by) if found.corrected_by else None
    if declaration is not None:
        rows.append(declaration)
    return _json(query_document([_stored_event(row) for row in rows]))


def query_document(events: Any) -> dict[str, Any]:
    """An EPCISQueryDocument of a SimpleEventQuery's results."""
    document = to_document(events)
    document["type"] = "EPCISQueryDocument"
    document["epcisBody"] = {"queryResults": {"queryName": "SimpleEventQuery",
                                              "resultsBody": {"eventList": document["epcisBody"]["eventList"]}}}
    return document


def _stored_event(row: Event) -> EpcisEvent:
    """A stored event with the event ID this server gives it (its event hash) unless it carries one."""
    raw = load_json(row.document)
    raw.setdefault("eventID", row.corrects or row.event_hash)
    return EpcisEvent.from_json(raw)


def _candidates(query: Query) -> Any:
    """A select of the stored events that may match: the conditions SQL checks cheaply (Query.matches decides)."""
    q = select(Event).order_by(Event.event_time, Event.height, Event.event_hash)
    if query.event_types:
        q = q.where(Event.kind.in_(query.event_types))
    if query.actions:
        q = q.where(Event.action.in_(query.actions))
    if query.ge_event_time is not None:
        q = q.where(Event.event_time >= _utc_millis(query.ge_event_time))
    if query.lt_event_time is not None:
        q = q.where(Event.event_time <= _utc_millis(query.lt_event_time))
    for values, vocab, column in ((query.biz_steps, BIZ_STEP, Event.biz_step),
                                  (query.dispositions, DISPOSITION, Event.disposition)):
        names = _standard_names(values, vocab)
        if names:
            q = q.where(column.in_(names))
    if query.event_ids:
        q = q.where(or_(Event.event_hash.in_(query.event_ids), Event.corrects.in_(query.event_ids),
                        *[Event.document.contains(f'"eventID":"{i}"', autoescape=True) for i in query.event_ids]))
    for name, roles in _ROLES.items():
        keys = _exact_keys(getattr(query, _PATTERNS[name]))
        if keys:
            q = q.where(Event.event_hash.in_(select(EventEpc.event_hash).where(EventEpc.key.in_(keys),
                                                                               EventEpc.role.in_(roles))))
    return q


def _standard_names(values: tuple[str, ...], vocab: Vocabulary) -> list[str]:
    """The short names of vocabulary values, if every one is a standard term (else no SQL condition)."""
    return [vocab.short_name(v) for v in values] if values and all(vocab.is_standard(v) for v in values) else []


def _exact_keys(patterns: tuple[Any, ...]) -> list[str]:
    """The contract keys of MATCH_* values, if every one names a single identifier (else no SQL condition)."""
    keys = []
    for pattern in patterns:
        text = pattern.text
        if text.endswith("*") or text.startswith("urn:epc:idpat:"):
            return []
        try:
            keys.append(to_key(text))
        except IdentifierError:
            return []
    return keys


def _utc_millis(stamp: str) -> str:
    """A timestamp as the read model stores event times: UTC, milliseconds (truncated), sorting as text."""
    seconds = instant(stamp)
    millis = int((seconds * 1000).to_integral_value(ROUND_FLOOR))
    moment = datetime.fromtimestamp(millis // 1000, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"

