"""The consumer page a QR code opens: each verdict, the timeline, PIN claims, reports and the on-chain proofs."""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import select
from flask.testing import FlaskClient

from apps.traceability.consumer import commit_scan_log, period_of
from apps.traceability.store import Code, Report, Scan
from web.app import create_app

from .stack import BRAND, CARRIER, SHOP, TraceStack
from .test_service import document, event, urn

GTIN = "00614141107346"
OLD = "09506000134352"



@pytest.fixture(scope="module")
def page(trace: TraceStack) -> FlaskClient:
    service = trace.service
    service.register_product(BRAND, GTIN, "0614141", "Green tea 250 g")
    service.issue_batch(BRAND, GTIN, "L7", 40, "301231")
    return create_app(trace.url, "main", trace=service).test_client()


def code(trace: TraceStack, i: int, lot: str = "L7", gtin: str = GTIN) -> Code:
    return trace.store.codes(gtin, lot, limit=1, offset=i)[0]


def path(c: Code, with_lot: bool = True) -> str:
    return f"/01/{c.gtin}" + (f"/10/{c.lot}" if with_lot else "") + f"/21/{c.serial}"


def verdict(html: str) -> str:
    found = re.search(r'data-verdict="([a-z]+)"', html)
    assert found, html[:500]
    return found[1]


def scan(page: FlaskClient, url: str, place: str = "shanghai") -> tuple[int, str]:
    response = page.get(url, query_string={"place": place})
    return response.status_code, response.get_data(as_text=True)


def test_an_issued_item_is_genuine_and_shows_its_product_brand_and_history(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 0)
    trace.service.capture(BRAND, document(event("commissioning", [urn(c)], "ADD", minute=1),
                                          event("shipping", [urn(c)], to=CARRIER, minute=2)))
    trace.service.capture(CARRIER, document(event("receiving", [urn(c)], minute=3, sensorElementList=[
        {"sensorReport": [{"type": "gs1:Temperature", "value": 4.5, "uom": "CEL"},
                          {"type": "gs1:Temperature", "value": 6.0, "uom": "CEL"}]}])))
    status, html = scan(page, path(c))
    assert status == 200 and verdict(html) == "genuine"
    assert page.get(path(c)).headers["Server-Timing"].startswith("app;dur=")
    assert "Green tea 250 g" in html and "Brand A Tea Co." in html and "Swift Logistics" in html
    assert html.count('class="step') == 4  # issuance + three events
    assert "2 temperature readings, 4.5 to 6 °C" in html
    assert verdict(scan(page, path(c, with_lot=False))[1]) == "genuine"
    proofs = page.get(path(c) + "/proofs").get_json()["proofs"]
    assert len(proofs) == 4 and all(p["verified"] for p in proofs), proofs
    assert proofs[0]["fact"].startswith(f"code {c.serial} is in batch L7")


def test_a_forged_serial_is_an_unknown_code(page: FlaskClient) -> None:
    status, html = scan(page, f"/01/{GTIN}/10/L7/21/FORGED000001")
    assert status == 200 and verdict(html) == "unknown"
    assert verdict(scan(page, f"/01/{GTIN}/21/0")[1]) == "unknown"


def test_a_malformed_code_is_refused_clearly(page: FlaskClient) -> None:
    response = page.get("/01/00614141107347/21/ABC")
    assert response.status_code == 400 and "check digit" in response.get_data(as_text=True)


def test_a_code_printed_with_another_lot_is_suspicious(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 1)
    assert verdict(scan(page, f"/01/{GTIN}/10/OTHER/21/{c.serial}")[1]) == "suspicious"


def test_a_recalled_batch_shows_recalled_at_once(trace: TraceStack, page: FlaskClient) -> None:
    trace.service.issue_batch(BRAND, GTIN, "BAD1", 5)
    c = code(trace, 2, "BAD1")
    assert verdict(scan(page, path(c))[1]) == "genuine"
    trace.service.recall(BRAND, GTIN, "BAD1", "undeclared allergen")
    status, html = scan(page, path(c))
    assert verdict(html) == "recalled" and "undeclared allergen" in html


def test_a_sold_item_and_a_second_sale(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 3)
    trace.service.capture(BRAND, document(event("shipping", [urn(c)], to=SHOP, minute=10)))
    trace.service.capture(SHOP, document(event("receiving", [urn(c)], minute=11)))
    trace.service.capture(SHOP, document(event("retail_selling", [urn(c)], minute=12)))
    with pytest.raises(Exception, match="already sold"):
        trace.service.capture(SHOP, document(event("retail_selling", [urn(c)], minute=13)))
    status, html = scan(page, path(c))
    assert verdict(html) == "sold" and "Fresh Mart" in html


def test_a_decommissioned_item(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 4)
    trace.service.capture(BRAND, document(event("decommissioning", [urn(c)], "DELETE", minute=14)))
    assert verdict(scan(page, path(c))[1]) == "decommissioned"


def test_an_expired_item(trace: TraceStack, page: FlaskClient) -> None:
    trace.service.register_product(BRAND, "00614141999996", "0614141", "Old stock")
    trace.service.issue_batch(BRAND, "00614141999996", "X1", 3, "200131")
    c = code(trace, 0, "X1", "00614141999996")
    assert verdict(scan(page, path(c))[1]) == "expired"


def test_a_claimed_pin_then_flags_the_code(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 5)
    wrong = page.post(path(c) + "/claim", data={"pin": "0000000000"})
    assert wrong.status_code == 409 and "wrong PIN" in wrong.get_data(as_text=True)
    right = page.post(path(c) + "/claim", data={"pin": c.pin.lower()})
    assert right.status_code == 200 and "PIN accepted" in right.get_data(as_text=True)
    status, html = scan(page, path(c))
    assert verdict(html) == "suspicious" and "already claimed" in html


def test_a_code_scanned_in_too_many_places_is_suspicious(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 6)
    for place in ("beijing", "lagos", "lima"):
        assert verdict(scan(page, path(c), place)[1]) == "genuine"
    assert verdict(scan(page, path(c), "oslo")[1]) == "suspicious"


def test_a_counterfeit_report_is_recorded(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 7)
    response = page.post(path(c) + "/report", data={"note": "sold from a van"})
    assert response.status_code == 200
    reports: list[Any] = trace.store.all(select(Report))
    assert any(r.note == "sold from a van" and r.key.endswith(c.serial) for r in reports)


def test_the_page_speaks_chinese(trace: TraceStack, page: FlaskClient) -> None:
    html = page.get(path(code(trace, 8)), query_string={"lang": "zh"}).get_data(as_text=True)
    assert "正品" in html and 'lang="zh-CN"' in html


def test_finished_hours_of_the_scan_log_are_committed_on_chain_once(trace: TraceStack, page: FlaskClient) -> None:
    c = code(trace, 9)
    hour_ms = 3_600_000
    now = (int(time.time() * 1000) // hour_ms) * hour_ms + 60_000
    for minutes in (5, 30):
        trace.store.add(Scan(key=f"sgtin:{GTIN}.{c.serial}", at_ms=now - 2 * hour_ms + minutes * 60_000,
                             place="x", client="t", verdict="genuine", period=""))
    done = dict(commit_scan_log(trace.service, now))
    period = period_of(now - 2 * hour_ms)
    assert done.get(period, 0) >= 2
    on_chain = trace.service.client(None).contract_value("traceability", "scans", ["consumer-service", period])
    assert on_chain["count"] == done[period]
    assert period not in dict(commit_scan_log(trace.service, now))
