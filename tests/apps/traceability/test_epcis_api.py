"""The EPCIS 2.0 REST binding over the chain: capture jobs, queries with paging, single events, problem documents."""
from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apps.traceability.store import Code, Event
from apps.traceability.web import TraceUser
from web.app import create_app

from .epcis.epcis_samples import schema_validators
from .stack import BRAND, CARRIER, RIVAL, TraceStack
from .test_console import PASSWORD, login
from .test_service import document, event, urn

GTIN = "00614141107346"
USERS = [TraceUser.create("ann", BRAND, "brand", PASSWORD), TraceUser.create("bob", RIVAL, "brand", PASSWORD),
         TraceUser.create("sam", CARRIER, "logistics", PASSWORD),
         TraceUser.create("reg", "market-regulator", "regulator", PASSWORD)]



@pytest.fixture(scope="module")
def app(trace: TraceStack) -> Flask:
    trace.service.register_product(BRAND, GTIN, "0614141", "Green tea 250 g")
    trace.service.issue_batch(BRAND, GTIN, "L100", 8)
    return create_app(trace.url, "main", trace=trace.service, trace_users=USERS)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def codes(trace: TraceStack) -> list[Code]:
    return trace.store.codes(GTIN, "L100")


def capture(client: FlaskClient, body: Any, user: str = "ann", **headers: str) -> Any:
    return client.post("/epcis/capture", data=json.dumps(body), content_type="application/json",
                       headers={**basic(user), **headers})


@pytest.fixture(scope="module")
def shipped(trace: TraceStack, client: FlaskClient) -> list[str]:
    """Items 0-2 commissioned and 0-1 shipped to the carrier, through the capture endpoint."""
    items = [urn(c) for c in codes(trace)[:3]]
    response = capture(client, document(event("commissioning", items, "ADD", minute=1),
                                        event("shipping", items[:2], to=CARRIER, minute=2)))
    assert response.status_code == 202, response.get_data(as_text=True)
    job = client.get(response.headers["Location"], headers=basic("ann")).get_json()
    assert job["running"] is False and job["success"] is True and job["errors"] == [], job
    assert job["captureErrorBehaviour"] == "rollback" and len(job["eventIDs"]) == 2
    return job["eventIDs"]  # type: ignore[no-any-return]


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The response's RFC 7807 problem document, checked."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"epcisException:{kind}" and body["status"] == status and body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


def test_a_capture_needs_a_writing_account_json_and_a_valid_document(trace: TraceStack, client: FlaskClient) -> None:
    item = urn(codes(trace)[5])
    body = document(event("inspecting", [item]))
    nobody = client.post("/epcis/capture", data=json.dumps(body), content_type="application/json")
    assert problem(nobody, 401, "SecurityException")["field"] == "Authorization"
    assert nobody.headers["WWW-Authenticate"].startswith("Basic")
    problem(capture(client, body, user="ann", Authorization=basic("ann", "wrong")["Authorization"]), 401,
            "SecurityException")
    problem(capture(client, body, user="reg"), 403, "SecurityException")
    as_text = client.post("/epcis/capture", data=json.dumps(body), content_type="text/plain", headers=basic("ann"))
    assert problem(as_text, 415, "UnsupportedMediaTypeException")["field"] == "Content-Type"
    broken = document(event("inspecting", ["urn:epc:id:sgtin:0614141.107346"]))
    assert "epcList" in problem(capture(client, broken), 400, "ValidationException")["field"]
    too_many = document(*[event("inspecting", [item], minute=i % 60) for i in range(201)])
    too_large = problem(capture(client, too_many), 413, "CaptureLimitExceededException")
    assert too_large["field"] == "epcisBody.eventList" and capture(client, too_many).headers["GS1-EPCIS-Capture-Limit"]
    problem(capture(client, body, **{"GS1-Capture-Error-Behaviour": "proceed"}), 501, "ImplementationException")
    options = client.options("/epcis/capture")
    assert options.status_code == 204 and options.headers["GS1-EPCIS-Capture-Limit"] == "200"


def test_captured_events_are_anchored_and_their_job_reports_them(trace: TraceStack, client: FlaskClient,
                                                                 shipped: list[str]) -> None:
    stored = trace.store.get(Event, shipped[1])
    assert stored is not None and stored.biz_step == "shipping" and stored.height > 0
    jobs = client.get("/epcis/capture", headers=basic("ann")).get_json()
    assert any(j["eventIDs"] == shipped for j in jobs)
    assert client.get("/epcis/capture", headers=basic("bob")).get_json() == []


def test_a_refused_capture_is_a_failed_job_naming_the_event(trace: TraceStack, client: FlaskClient,
                                                           shipped: list[str]) -> None:
    items = [urn(c) for c in codes(trace)[:3]]
    response = capture(client, document(event("receiving", items[:2], minute=3), event("shipping", items[2:3], minute=4)),
                       user="sam")
    assert response.status_code == 202
    job = client.get(response.headers["Location"], headers=basic("sam")).get_json()
    assert job["success"] is False and job["running"] is False and job["eventIDs"] == []
    error = job["errors"][0]
    assert error["field"] == "epcisBody.eventList[1]" and "swift-logistics cannot ship" in error["detail"]
    assert error["type"] == "epcisException:ValidationException" and error["status"] == 409
    other = client.get(response.headers["Location"], headers=basic("ann"))
    assert problem(other, 404, "NoSuchResourceException")["field"] == "captureID"


def test_events_are_queried_by_epc_and_step_as_a_valid_query_document(trace: TraceStack, client: FlaskClient,
                                                                      shipped: list[str]) -> None:
    first = urn(codes(trace)[0])
    response = client.get("/epcis/events", query_string={"MATCH_epc": first, "EQ_bizStep": "shipping"},
                          headers=basic("reg"))
    assert response.status_code == 200 and response.headers["GS1-EPCIS-Version"] == "2.0.0"
    body = response.get_json()
    found = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in found] == [shipped[1]] and found[0]["bizStep"] == "shipping"
    assert body["type"] == "EPCISQueryDocument" and body["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    for name, validator in schema_validators():
        errors = list(validator.iter_errors(body))
        assert not errors, (name, [e.message for e in errors[:3]])
    link = client.get("/epcis/events", query_string={"MATCH_epc": f"https://id.gs1.org/01/{GTIN}/21/{codes(trace)[0].serial}"},
                      headers=basic("reg")).get_json()
    assert len(link["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
    pattern = client.get("/epcis/events", query_string={"MATCH_epc": "urn:epc:idpat:sgtin:0614141.010734.*",
                                                        "eventType": "ObjectEvent", "EQ_action": "ADD"},
                         headers=basic("reg")).get_json()
    assert len(pattern["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1


def test_queries_are_paged_with_next_page_tokens(client: FlaskClient, shipped: list[str]) -> None:
    response = client.get("/epcis/events", query_string={"perPage": "1"}, headers=basic("ann"))
    seen = [e["eventID"] for e in response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    while "Link" in response.headers:
        target = response.headers["Link"].split(">", 1)[0].lstrip("<")
        assert 'rel="next"' in response.headers["Link"] and "nextPageToken=" in target
        response = client.get(target, headers=basic("ann"))
        seen += [e["eventID"] for e in response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    assert seen == shipped


def test_bad_query_parameters_are_problems_naming_the_parameter(client: FlaskClient) -> None:
    assert problem(client.get("/epcis/events", query_string={"EQ_color": "red"}, headers=basic("ann")), 400,
                   "QueryParameterException")["field"] == "EQ_color"
    assert problem(client.get("/epcis/events", query_string={"GE_eventTime": "yesterday"}, headers=basic("ann")), 400,
                   "QueryParameterException")["field"] == "GE_eventTime"
    assert problem(client.get("/epcis/events"), 401, "SecurityException")


def test_one_event_is_fetched_by_its_id(client: FlaskClient, shipped: list[str]) -> None:
    response = client.get(f"/epcis/events/{quote(shipped[0], safe='')}", headers=basic("sam"))
    events = response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert response.status_code == 200 and [e["eventID"] for e in events] == [shipped[0]]
    missing = client.get(f"/epcis/events/{quote('ni:///sha-256;' + '0' * 64 + '?ver=CBV2.0', safe='')}",
                         headers=basic("sam"))
    assert problem(missing, 404, "NoSuchResourceException")["field"] == "eventID"


def test_a_console_session_captures_with_its_csrf_token(trace: TraceStack, app: Flask) -> None:
    session = login(app, "ann")
    body = document(event("inspecting", [urn(codes(trace)[6])], minute=30))
    assert session.get("/epcis/events", query_string={"EQ_bizStep": "commissioning"}).status_code == 200
    refused = session.post("/epcis/capture", data=json.dumps(body), content_type="application/json")
    assert problem(refused, 403, "SecurityException")["field"] == "X-CSRF-Token"
    with session.session_transaction() as stored:
        token = stored["csrf"]
    accepted = session.post("/epcis/capture", data=json.dumps(body), content_type="application/ld+json",
                            headers={"X-CSRF-Token": token})
    assert accepted.status_code == 202 and accepted.get_json()["success"] is True
    href = re.search(r'href="(/epcis/events/[^"]+)"', session.get("/console/").get_data(as_text=True))
    assert href is not None  # the console links each event hash to this API
    linked = session.get(href[1]).get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(linked) == 1 and linked[0]["eventID"].startswith("ni:///sha-256;")
