"""The traceability consoles over a real node and gateway: sign-in, roles, jobs with progress, labels, steps, recalls."""
from __future__ import annotations

import io
import re
import time
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apps.traceability.epc_keys import item_key, key_to_uri
from apps.traceability.store import Batch, Code, Item, Report
from apps.traceability.web import TraceUser
from web.app import create_app

from .stack import BRAND, CARRIER, RIVAL, SHOP, TraceStack

GTIN = "00614141107346"
LOT = "C1"
PASSWORD = "correct horse"
USERS = [TraceUser.create("ann", BRAND, "brand", PASSWORD), TraceUser.create("bob", RIVAL, "brand", PASSWORD),
         TraceUser.create("sam", CARRIER, "logistics", PASSWORD), TraceUser.create("rita", SHOP, "retailer", PASSWORD),
         TraceUser.create("reg", "market-regulator", "regulator", PASSWORD)]



@pytest.fixture(scope="module")
def app(trace: TraceStack) -> Flask:
    return create_app(trace.url, "main", trace=trace.service, trace_users=USERS)


def csrf(client: FlaskClient) -> str:
    """The session's CSRF token (the one every console form carries)."""
    with client.session_transaction() as session:
        return str(session["csrf"])


def login(app: Flask, username: str) -> FlaskClient:
    """A test client signed in as one of USERS."""
    client = app.test_client()
    assert client.get("/console/login").status_code == 200
    response = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    """POST a console form with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client), **data})


def wait_job(client: FlaskClient, location: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job's status endpoint until it is done or failed; its last state."""
    job_id = location.rstrip("/").rsplit("/", 1)[1]
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/console/jobs/{job_id}/status").get_json()
        if state["state"] in ("done", "failed") or time.monotonic() > deadline:
            return state  # type: ignore[no-any-return]
        time.sleep(0.05)


def text(response: Any) -> str:
    return response.get_data(as_text=True)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ann(app: Flask) -> FlaskClient:
    return login(app, "ann")


@pytest.fixture(scope="module")
def batch(trace: TraceStack, ann: FlaskClient) -> Batch:
    """A product registered and a batch of 12 issued through the console (the issuance job runs to the end)."""
    registered = post(ann, "/console/products", gtin=GTIN, prefix="0614141", name="Green tea 250 g")
    assert registered.status_code == 302
    issued = post(ann, "/console/batches", gtin=GTIN, lot=LOT, count="12", expiry="301231")
    assert issued.status_code == 302 and "/console/jobs/" in issued.headers["Location"]
    page = ann.get(issued.headers["Location"])
    assert 'role="progressbar"' in text(page) and "data-url=" in text(page)
    state = wait_job(ann, issued.headers["Location"])
    assert state["state"] == "done", state
    assert state["done"] == state["total"] == 2 and "block" in state["message"] and state["batch"].endswith(f"/{LOT}")
    found = trace.store.get(Batch, GTIN, LOT)
    assert found.status == "committed" and found.count == 12
    return found  # type: ignore[no-any-return]


def code(trace: TraceStack, i: int) -> Code:
    return trace.store.codes(GTIN, LOT, limit=1, offset=i)[0]


def link(trace: TraceStack, i: int) -> str:
    return key_to_uri(item_key(GTIN, code(trace, i).serial), trace.service.config.resolver)


# --- sign-in, CSRF, roles ---------------------------------------------------------------------------------------------


def test_pages_need_a_signed_in_user_and_a_right_password(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/console/batches")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    client.get("/console/login")
    wrong = client.post("/console/login", data={"username": "ann", "password": "nope", "csrf_token": csrf(client)})
    assert wrong.status_code == 401 and 'id="error"' in text(wrong)
    assert client.get("/console/").status_code == 302


def test_a_post_without_the_session_csrf_token_is_refused(app: Flask, trace: TraceStack, ann: FlaskClient) -> None:
    fresh = app.test_client()
    fresh.get("/console/login")
    assert fresh.post("/console/login", data={"username": "ann", "password": PASSWORD}).status_code == 400
    refused = ann.post("/console/products", data={"gtin": "00614141999996", "prefix": "0614141", "name": "x"})
    assert refused.status_code == 400 and "CSRF" in text(refused)
    forged = ann.post("/console/recall", data={"gtin": GTIN, "lot": LOT, "reason": "x", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert trace.store.products(BRAND) == [] or all(p.gtin != "00614141999996" for p in trace.store.products(BRAND))


def test_roles_limit_pages_and_steps(app: Flask, batch: Batch) -> None:
    rita = login(app, "rita")
    assert rita.get("/console/batches").status_code == 403
    refused = post(rita, "/console/batches", gtin=GTIN, lot="X1", count="3")
    assert refused.status_code == 403
    assert rita.get("/console/products").status_code == 403
    assert rita.get(f"/console/batches/{GTIN}/{LOT}").status_code == 403
    step = post(rita, "/console/record", step="commissioning", epcs="")
    assert step.status_code == 403 and 'id="error"' in text(step)
    regulator = login(app, "reg")
    assert regulator.get("/console/record").status_code == 403
    assert regulator.get(f"/console/batches/{GTIN}/{LOT}").status_code == 200
    assert 'id="recall-form"' not in text(regulator.get(f"/console/batches/{GTIN}/{LOT}"))


# --- batches, labels, recalls ------------------------------------------------------------------------------------------


def test_the_batch_page_shows_the_commitment(ann: FlaskClient, batch: Batch) -> None:
    page = text(ann.get(f"/console/batches/{GTIN}/{LOT}"))
    assert 'id="count">12<' in page and 'id="codes-held">12<' in page and batch.root.hex() in page
    assert f'id="height">{batch.height}<' in page


def test_labels_render_through_jobs_and_only_their_brand_downloads_them(app: Flask, ann: FlaskClient,
                                                                       batch: Batch) -> None:
    started = post(ann, "/console/labels", gtin=GTIN, lot=LOT, format="pdf")
    assert started.status_code == 302
    state = wait_job(ann, started.headers["Location"])
    assert state["state"] == "done" and state["done"] == state["total"] == 12, state
    pdf = ann.get(state["download"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    zipped = post(ann, "/console/labels", gtin=GTIN, lot=LOT, format="png")
    state_zip = wait_job(ann, zipped.headers["Location"])
    assert state_zip["state"] == "done", state_zip
    archive = zipfile.ZipFile(io.BytesIO(ann.get(state_zip["download"]).data))
    names = archive.namelist()
    assert len([n for n in names if n.endswith(".png")]) == 12 and "manifest.csv" in names
    assert "label" in text(ann.get(f"/console/batches/{GTIN}/{LOT}")).lower()
    bob = login(app, "bob")
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    assert bob.get(f"/console/jobs/{job_id}/status").status_code == 404
    assert bob.get(f"/console/jobs/{job_id}/download").status_code == 404
    assert bob.get(f"/console/batches/{GTIN}/{LOT}").status_code == 403
    assert post(bob, "/console/labels", gtin=GTIN, lot=LOT, format="pdf").status_code == 403
    assert login(app, "sam").get(f"/console/jobs/{job_id}/download").status_code == 403


def test_a_bad_label_format_and_a_bad_batch_are_refused(ann: FlaskClient, batch: Batch) -> None:
    assert post(ann, "/console/labels", gtin=GTIN, lot=LOT, format="gif").status_code == 400
    assert post(ann, "/console/labels", gtin=GTIN, lot="NOPE", format="pdf").status_code == 404
    refused = post(ann, "/console/batches", gtin=GTIN, lot=LOT, count="3")
    state = wait_job(ann, refused.headers["Location"])
    assert state["state"] == "failed" and "already exists" in state["error"] and state["field"] == "lot"
    unknown = post(ann, "/console/batches", gtin="00614141999996", lot="Z1", count="3")
    assert unknown.status_code == 400 and "register it first" in text(unknown)


# --- recording steps -------------------------------------------------------------------------------------------------


def test_shipping_and_receiving_are_recorded_through_the_form(app: Flask, trace: TraceStack, ann: FlaskClient,
                                                             batch: Batch) -> None:
    made = post(ann, "/console/record", step="commissioning", gtin=GTIN, lot=LOT, first="1", last="4")
    assert made.status_code == 200 and 'id="recorded"' in text(made), text(made)[:2000]
    shipped = post(ann, "/console/record", step="shipping", epcs=f"{link(trace, 0)}\n{link(trace, 1)}", to=CARRIER,
                   temperature="4.5")
    assert 'id="recorded"' in text(shipped), text(shipped)[:2000]
    assert trace.store.get(Item, item_key(GTIN, code(trace, 0).serial)).state == "in_transit"
    sam = login(app, "sam")
    received = post(sam, "/console/record", step="receiving", epcs=f"{link(trace, 0)} {link(trace, 1)}")
    assert 'id="recorded"' in text(received), text(received)[:2000]
    held = trace.store.get(Item, item_key(GTIN, code(trace, 0).serial))
    assert held.holder == CARRIER and held.state == "active"
    assert item_key(GTIN, code(trace, 0).serial) in text(sam.get("/console/"))
    journey = text(sam.get("/console/items", query_string={"epc": link(trace, 0)}))
    assert journey.count('class="step') == 3 and "ni:///sha-256;" in journey and 'data-verdict="genuine"' in journey


def test_a_refused_step_shows_the_contracts_reason(app: Flask, trace: TraceStack, batch: Batch) -> None:
    rita = login(app, "rita")
    refused = post(rita, "/console/record", step="receiving", gtin=GTIN, lot=LOT, first="3", last="3")
    assert refused.status_code == 409
    page = text(refused)
    assert 'id="error"' in page and f"no shipment of sgtin:{GTIN}.{code(trace, 2).serial} to {SHOP} is open" in page
    missing = post(rita, "/console/record", step="packing", epcs=link(trace, 2))
    assert missing.status_code == 400 and 'data-field="parent"' in text(missing)
    bad = post(rita, "/console/record", step="receiving", epcs="urn:epc:id:sgtin:0614141.107346")
    assert bad.status_code == 400 and "epcs" in text(bad)


def test_a_recall_shows_on_the_consumer_page_at_once(app: Flask, trace: TraceStack, ann: FlaskClient,
                                                     batch: Batch) -> None:
    trace.service.register_product(BRAND, "10614141107343", "0614141", "Green tea, case of 12")
    trace.service.issue_batch(BRAND, "10614141107343", "R1", 3)
    c = trace.store.codes("10614141107343", "R1", limit=1)[0]
    consumer = app.test_client()
    assert 'data-verdict="genuine"' in text(consumer.get(f"/01/{c.gtin}/10/R1/21/{c.serial}"))
    bob = login(app, "bob")
    assert post(bob, "/console/recall", gtin=c.gtin, lot="R1", reason="mine now").status_code == 403
    done = post(ann, "/console/recall", gtin=c.gtin, lot="R1", reason="label misprint")
    assert done.status_code == 302
    assert 'id="recalled"' in text(ann.get(done.headers["Location"]))
    assert 'data-verdict="recalled"' in text(consumer.get(f"/01/{c.gtin}/10/R1/21/{c.serial}"))
    again = post(ann, "/console/recall", gtin=c.gtin, lot="R1", reason="twice")
    assert again.status_code == 409 and "already recalled" in text(again)


# --- dashboard, reports, identities, languages -----------------------------------------------------------------------


def test_the_dashboard_charts_scans_and_lists_reports(app: Flask, trace: TraceStack, ann: FlaskClient,
                                                     batch: Batch) -> None:
    consumer = app.test_client()
    c = code(trace, 5)
    consumer.get(f"/01/{GTIN}/10/{LOT}/21/{c.serial}")
    consumer.post(f"/01/{GTIN}/10/{LOT}/21/{c.serial}/report", data={"note": "odd print"})
    assert trace.store.all(select(Report))
    page = text(ann.get("/console/"))
    assert 'id="chart-products"' in page and "<rect" in page and 'id="recent-events"' in page
    assert re.search(r'id="n-scans">[1-9]', page)
    reports = text(ann.get("/console/reports"))
    assert "odd print" in reports and item_key(GTIN, c.serial) in reports
    assert "odd print" not in text(login(app, "bob").get("/console/reports"))


def test_identities_show_the_organisation_as_the_chain_records_it(ann: FlaskClient, trace: TraceStack) -> None:
    page = text(ann.get("/console/identities"))
    assert 'id="participant"' in page and trace.service.client(BRAND).address in page
    members = trace.service.client(None).users(BRAND)
    assert len(members) == page.count('class="member"') >= 1
    assert all(m["participant"] == BRAND for m in members)
    assert trace.service.client(RIVAL).address not in page


def test_console_pages_speak_chinese(ann: FlaskClient, batch: Batch) -> None:
    page = text(ann.get("/console/?lang=zh"))
    assert "概览" in page and "最新事件" in page
    assert "概览" in text(ann.get("/console/batches"))  # the choice is remembered
    ann.get("/console/?lang=en")
