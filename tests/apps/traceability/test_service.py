"""The traceability service end to end: a real node and gateway, organisations signing with their own keys."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from apps.traceability.codes import leaf_hash, verify_proof
from apps.traceability.errors import TraceError
from apps.traceability.service import TraceService
from apps.traceability.store import Batch, Code, Event, Item, Product, TraceStore

from .stack import BRAND, CARRIER, PARTIES, RIVAL, SHOP, TraceStack

GTIN = "00614141107346"
CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"



@pytest.fixture(scope="module")
def batch(trace: TraceStack) -> Batch:
    trace.service.register_product(BRAND, GTIN, "0614141", "Green tea 250 g")
    return trace.service.issue_batch(BRAND, GTIN, "L100", 1000, "271231")


def urn(code: Code) -> str:
    """The SGTIN EPC URI of an item code (company prefix 0614141)."""
    return f"urn:epc:id:sgtin:0614141.{code.gtin[0]}{code.gtin[8:13]}.{code.serial}"


def pgln(org: str) -> str:
    gln = PARTIES[org].gln
    return f"urn:epc:id:pgln:{gln[:7]}.{gln[7:12]}"


def event(step: str, epcs: list[str], action: str = "OBSERVE", to: str | None = None, minute: int = 0,
          **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "ObjectEvent", "eventTime": f"2026-11-25T08:{minute:02d}:00.000+08:00",
                            "eventTimeZoneOffset": "+08:00", "epcList": epcs, "action": action, "bizStep": step,
                            "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}, **extra}
    if to is not None:
        body["destinationList"] = [{"type": "owning_party", "destination": pgln(to)}]
    return body


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-11-25T08:00:00.000Z", "epcisBody": {"eventList": list(events)}}


def codes(trace: TraceStack, n: int, offset: int = 0) -> list[Code]:
    return trace.store.codes(GTIN, "L100", limit=n, offset=offset)


def test_a_batch_of_codes_is_committed_as_one_root_and_each_code_proves_itself(trace: TraceStack, batch: Batch) -> None:
    assert batch.status == "committed" and batch.count == 1000 and batch.height > 0
    on_chain = trace.service.client(None).contract_value("traceability", "batches", [GTIN, "L100"])
    assert on_chain["root"] == batch.root and on_chain["org"] == BRAND
    assert trace.store.get(Product, GTIN).org == BRAND
    code = codes(trace, 1, 637)[0]
    lot, pin_hash, path = trace.service.code_proof(f"sgtin:{GTIN}.{code.serial}")
    assert lot == "L100" and verify_proof(leaf_hash(code.serial, pin_hash), [(s, b) for s, b in path], batch.root)
    with pytest.raises(TraceError, match="already exists"):
        trace.service.issue_batch(BRAND, GTIN, "L100", 5)
    with pytest.raises(TraceError, match="only brand-a issues"):
        trace.service.issue_batch(RIVAL, GTIN, "L999", 5)


def test_captured_events_are_anchored_by_their_hash_and_drive_item_state(trace: TraceStack, batch: Batch) -> None:
    items = [urn(c) for c in codes(trace, 3)]
    hashes = trace.service.capture(BRAND, document(event("commissioning", items, "ADD", minute=1),
                                                   event("shipping", items[:2], to=CARRIER, minute=2)))
    assert len(hashes) == 2 and all(h.startswith("ni:///sha-256;") for h in hashes)
    stored = trace.store.get(Event, hashes[1])
    assert stored.org == BRAND and stored.biz_step == "shipping" and stored.event_time == "2026-11-25T00:02:00.000Z"
    first = trace.store.get(Item, f"sgtin:{GTIN}.{codes(trace, 1)[0].serial}")
    assert first.state == "in_transit" and first.holder == BRAND and first.commissioned
    trace.service.capture(CARRIER, document(event("receiving", items[:2], minute=3)))
    assert trace.store.get(Item, first.key).holder == CARRIER
    anchor = trace.service.client(None).contract_value("traceability", "anchors", hashes[0])
    assert anchor["org"] == BRAND and anchor["kind"] == "ObjectEvent"


def test_a_refused_event_refuses_the_whole_document_and_names_it(trace: TraceStack, batch: Batch) -> None:
    item = urn(codes(trace, 1, 10)[0])
    before = len(trace.store.events_of([f"sgtin:{GTIN}.{codes(trace, 1, 10)[0].serial}"]))
    with pytest.raises(TraceError) as refused:
        trace.service.capture(SHOP, document(event("inspecting", [item], minute=5),
                                             event("retail_selling", [item], minute=6)))
    assert "fresh-mart cannot sell" in refused.value.message and refused.value.field == "epcisBody.eventList[1]"
    assert refused.value.status == 409
    assert len(trace.store.events_of([f"sgtin:{GTIN}.{codes(trace, 1, 10)[0].serial}"])) == before


def test_the_same_event_is_anchored_once(trace: TraceStack, batch: Batch) -> None:
    doc = document(event("inspecting", [urn(codes(trace, 1, 20)[0])], minute=7))
    trace.service.capture(BRAND, doc)
    with pytest.raises(TraceError, match="already recorded"):
        trace.service.capture(BRAND, doc)


def test_bad_documents_and_identifiers_are_refused_with_the_field(trace: TraceStack, batch: Batch) -> None:
    with pytest.raises(TraceError) as bad:
        trace.service.capture(BRAND, document(event("shipping", ["urn:epc:id:sgtin:0614141.107346"])))
    assert "epcList" in bad.value.field
    with pytest.raises(TraceError) as empty:
        trace.service.capture(BRAND, document())
    assert empty.value.field.startswith("epcisBody")


def test_a_recall_and_a_pin_claim_reach_the_read_model(trace: TraceStack, batch: Batch) -> None:
    trace.service.register_product(BRAND, "10614141107343", "0614141", "Green tea, case of 12")
    recalled = trace.service.issue_batch(BRAND, "10614141107343", "R1", 10)
    assert trace.service.recall(BRAND, "10614141107343", "R1", "label misprint").recalled == "label misprint"
    assert recalled.count == 10
    code = codes(trace, 1, 30)[0]
    trace.service.claim_pin(GTIN, code.serial, code.pin)
    assert trace.store.get(Item, f"sgtin:{GTIN}.{code.serial}").claimed > 0
    with pytest.raises(TraceError, match="already claimed"):
        trace.service.claim_pin(GTIN, code.serial, code.pin)


def test_the_read_model_is_rebuilt_from_the_chain(trace: TraceStack, batch: Batch, tmp_path: Path) -> None:
    trace.service.capture(BRAND, document(event("inspecting", [urn(codes(trace, 1, 40)[0])], minute=9)))
    fresh = TraceStore(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    rebuilt = TraceService(trace.service.config, fresh)
    rebuilt.sync()
    for table, key in ((Event, "event_hash"), (Item, "key"), (Batch, "lot"), (Product, "gtin")):
        original = sorted(getattr(r, key) for r in trace.store.all(select(table)))
        assert sorted(getattr(r, key) for r in fresh.all(select(table))) == original, table.__name__
    assert fresh.get(Batch, GTIN, "L100").root == batch.root


def test_items_follow_their_pallet_through_a_handover_and_an_unpacking(trace: TraceStack, batch: Batch) -> None:
    inside = codes(trace, 3, 50)
    pallet = "urn:epc:id:sscc:0614141.1000000777"
    key = "sscc:106141410000007773"
    aggregation = {"type": "AggregationEvent", "eventTime": "2026-11-25T09:00:00.000Z", "eventTimeZoneOffset": "+00:00",
                   "parentID": pallet, "childEPCs": [urn(c) for c in inside], "action": "ADD", "bizStep": "packing"}
    trace.service.capture(BRAND, document(aggregation, event("shipping", [pallet], to=SHOP, minute=20)))
    trace.service.capture(SHOP, document(event("receiving", [pallet], minute=21)))
    rows = [trace.store.get(Item, f"sgtin:{GTIN}.{c.serial}") for c in inside]
    assert all(r.holder == SHOP and r.parent == key for r in rows), [(r.holder, r.parent) for r in rows]
    unpack = {**aggregation, "eventTime": "2026-11-25T09:30:00.000Z", "childEPCs": [], "action": "DELETE",
              "bizStep": "unpacking"}
    trace.service.capture(SHOP, document(unpack))
    assert all(trace.store.get(Item, r.key).parent == "" for r in rows)
