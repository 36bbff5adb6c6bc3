"""A regulator's traces of a batch: forward through containers and handovers, backward through transformations, XLSX."""
from __future__ import annotations

import io
import itertools
import time
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from apps.traceability.epc_keys import item_key, key_to_uri, lot_key
from apps.traceability.identifiers import check_digit
from apps.traceability.regulator import backward_trace, forward_trace, item_trace
from apps.traceability.store import Batch
from apps.traceability.web import TraceUser
from web.app import create_app

from .stack import BRAND, CARRIER, PARTIES, RIVAL, SHOP, TraceStack
from .test_console import PASSWORD, login, text

GTIN = "00614141107346"  # brand-a's tea, lot T1
LEAF = "00690123000010"  # brand-b's tea leaves, lots SEED1 (no item use) and LEAF1
SSCC = "10614141000000001" + str(check_digit("10614141000000001"))
CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
_CLOCK = itertools.count()
USERS = [TraceUser.create("ann", BRAND, "brand", PASSWORD), TraceUser.create("bob", RIVAL, "brand", PASSWORD),
         TraceUser.create("rita", SHOP, "retailer", PASSWORD),
         TraceUser.create("reg", "market-regulator", "regulator", PASSWORD)]



def uri(trace: TraceStack, key: str) -> str:
    return key_to_uri(key, trace.service.config.resolver)


def items(trace: TraceStack, gtin: str, lot: str, first: int, last: int) -> list[str]:
    return [item_key(gtin, c.serial) for c in trace.store.codes(gtin, lot, limit=last - first, offset=first)]


def capture(trace: TraceStack, org: str, *events: dict[str, Any]) -> list[str]:
    """Anchor events, each a minute after the one before."""
    for event in events:
        minute = next(_CLOCK)
        event.update(eventTime=f"2026-11-25T{8 + minute // 60:02d}:{minute % 60:02d}:00.000+08:00",
                     eventTimeZoneOffset="+08:00")
    return trace.service.capture(org, {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
                                       "creationDate": "2026-11-25T08:00:00.000Z",
                                       "epcisBody": {"eventList": list(events)}})


def observe(trace: TraceStack, step: str, keys: list[str], to: str | None = None, action: str = "OBSERVE") -> dict[str, Any]:
    event: dict[str, Any] = {"type": "ObjectEvent", "action": action, "bizStep": step,
                             "epcList": [uri(trace, k) for k in keys]}
    if to is not None:
        event["destinationList"] = [{"type": "owning_party", "destination": f"https://id.gs1.org/417/{PARTIES[to].gln}"}]
    return event


def transform(trace: TraceStack, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    return {"type": "TransformationEvent", "bizStep": "commissioning", "inputEPCList": [uri(trace, k) for k in inputs],
            "outputEPCList": [uri(trace, k) for k in outputs]}


def aggregate(trace: TraceStack, action: str, step: str, children: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "AggregationEvent", "action": action, "bizStep": step,
                             "parentID": uri(trace, f"sscc:{SSCC}")}
    if children:
        event["childEPCs"] = [uri(trace, k) for k in children]
    return event


@pytest.fixture(scope="module")
def journey(trace: TraceStack) -> dict[str, Any]:
    """Leaves grown from a seed lot, made into tea, packed, shipped twice, unpacked and sold; one item left in transit."""
    svc = trace.service
    svc.register_product(RIVAL, LEAF, "0690123", "Tea leaves, 1 kg")
    svc.issue_batch(RIVAL, LEAF, "SEED1", 1)
    svc.issue_batch(RIVAL, LEAF, "LEAF1", 3)
    leaves = items(trace, LEAF, "LEAF1", 0, 3)
    capture(trace, RIVAL, transform(trace, [lot_key(LEAF, "SEED1")], leaves))
    capture(trace, RIVAL, observe(trace, "shipping", leaves[:2], to=BRAND))
    capture(trace, BRAND, observe(trace, "receiving", leaves[:2]))
    svc.register_product(BRAND, GTIN, "0614141", "Green tea 250 g")
    svc.issue_batch(BRAND, GTIN, "T1", 6)
    tea = items(trace, GTIN, "T1", 0, 6)
    capture(trace, BRAND, transform(trace, leaves[:2], tea[:4]))
    capture(trace, BRAND, aggregate(trace, "ADD", "packing", tea[:2]), observe(trace, "shipping", [f"sscc:{SSCC}"], to=CARRIER))
    capture(trace, CARRIER, observe(trace, "receiving", [f"sscc:{SSCC}"]))
    capture(trace, CARRIER, observe(trace, "shipping", [f"sscc:{SSCC}"], to=SHOP))
    capture(trace, SHOP, observe(trace, "receiving", [f"sscc:{SSCC}"]))
    capture(trace, SHOP, aggregate(trace, "DELETE", "unpacking", []), observe(trace, "retail_selling", tea[:1]))
    capture(trace, BRAND, observe(trace, "shipping", tea[2:3], to=CARRIER))
    return {"tea": tea, "leaves": leaves}


@pytest.fixture(scope="module")
def app(trace: TraceStack) -> Flask:
    return create_app(trace.url, "main", trace=trace.service, trace_users=USERS)


def test_forward_trace_follows_items_through_containers_and_handovers(trace: TraceStack, journey: dict[str, Any]) -> None:
    forward = forward_trace(trace.service, GTIN, "T1")
    by_key = {t.key: t for t in forward.items}
    tea = journey["tea"]
    sold, packed, in_transit, made, unused = by_key[tea[0]], by_key[tea[1]], by_key[tea[2]], by_key[tea[3]], by_key[tea[4]]
    assert (sold.state, sold.holder, sold.container) == ("sold", SHOP, "")
    assert [(h.sender, h.receiver, h.shipped.via) for h in sold.handovers] == [
        (BRAND, CARRIER, f"sscc:{SSCC}"), (CARRIER, SHOP, f"sscc:{SSCC}")]
    assert all(h.received is not None and h.received.height >= h.shipped.height for h in sold.handovers)
    assert (packed.holder, packed.container, len(packed.handovers)) == (SHOP, "", 2)
    assert (in_transit.state, in_transit.holder) == ("in_transit", BRAND)
    assert [(h.sender, h.receiver, h.received) for h in in_transit.handovers] == [(BRAND, CARRIER, None)]
    assert (made.state, made.holder, made.handovers, made.last.kind) == ("active", BRAND, (), "TransformationEvent")
    assert (unused.state, unused.last, unused.events) == ("issued", None, 0)
    assert sold.last.step == "retail_selling" and sold.last.event_hash.startswith("ni:///sha-256;")


def test_backward_trace_reaches_the_raw_material_lots(trace: TraceStack, journey: dict[str, Any]) -> None:
    backward = backward_trace(trace.service, GTIN, "T1")
    rows = [(r.depth, r.output_lot, r.input_key, r.input_lot, r.producer) for r in backward.rows]
    first, second = sorted(journey["leaves"][:2])
    assert rows == [(1, f"{GTIN}/T1", first, "LEAF1", RIVAL), (1, f"{GTIN}/T1", second, "LEAF1", RIVAL),
                    (2, f"{LEAF}/LEAF1", lot_key(LEAF, "SEED1"), "SEED1", RIVAL)]
    assert len(backward.rows[0].outputs) == 4 and backward.rows[0].transformation.kind == "TransformationEvent"


def test_the_trace_pages_are_for_regulators_and_the_batchs_brand(trace: TraceStack, app: Flask,
                                                                  journey: dict[str, Any]) -> None:
    regulator = login(app, "reg")
    page = text(regulator.get(f"/console/trace/{GTIN}/T1"))
    assert page.count('data-key="sgtin:') == 6 and page.count('class="handover"') == 5
    assert f'data-input="{lot_key(LEAF, "SEED1")}"' in page and "ni:///sha-256;" in page
    assert login(app, "ann").get(f"/console/trace/{GTIN}/T1").status_code == 200
    assert login(app, "bob").get(f"/console/trace/{GTIN}/T1").status_code == 403
    assert login(app, "rita").get(f"/console/trace/{GTIN}/T1").status_code == 403
    assert regulator.get(f"/console/trace/{GTIN}/NOPE").status_code == 404
    assert 'id="forward-items"' in text(regulator.get(f"/console/trace/{LEAF}/LEAF1"))
    item = text(regulator.get("/console/items", query_string={"epc": journey["tea"][1]}))
    assert 'id="holder">Fresh Mart<' in item and item.count('class="handover"') == 2 and 'id="packed-in"' not in item
    assert item_trace(trace.service, journey["tea"][1]) == forward_trace(trace.service, GTIN, "T1").items[1]


def test_the_xlsx_export_has_every_row_with_checkable_hashes_and_heights(trace: TraceStack, app: Flask,
                                                                         journey: dict[str, Any]) -> None:
    regulator = login(app, "reg")
    started = time.monotonic()
    response = regulator.get(f"/console/trace/{GTIN}/T1", query_string={"format": "xlsx"})
    assert time.monotonic() - started < 5
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Summary", "Items", "Handovers", "Events", "Inputs"]
    sheet = {name: [list(r) for r in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    assert len(sheet["Items"]) == 7 and len(sheet["Handovers"]) == 6 and len(sheet["Inputs"]) == 4
    header = sheet["Handovers"][0]
    public = trace.service.client(None)
    for row in sheet["Handovers"][1:]:
        shipped_hash, shipped_height = row[header.index("Shipping event hash")], row[header.index("Shipping block")]
        anchor = public.contract_value("traceability", "anchors", shipped_hash)
        assert anchor["org"] == row[header.index("From")] and anchor["height"] == shipped_height
    inputs = sheet["Inputs"]
    for row in inputs[1:]:
        digest, height = row[inputs[0].index("Transformation event hash")], row[inputs[0].index("Block")]
        assert public.contract_value("traceability", "anchors", digest)["height"] == height
    items_header = sheet["Items"][0]
    sold = next(r for r in sheet["Items"][1:] if r[0] == journey["tea"][0])
    assert sold[items_header.index("State")] == "sold" and sold[items_header.index("Holder")] == SHOP
    summary = dict((r[0], r[1]) for r in sheet["Summary"])
    assert summary["Merkle root"] == trace.store.get(Batch, GTIN, "T1").root.hex()
