"""The on-chain proofs behind a consumer page: each fact checked by the SDK's light client against a certified header.

Facts: the item's code is in its batch's committed Merkle root (root proven
from contract storage, then the item's path checked here), and each event in
its timeline is anchored by the contract under its CBV 2.0 hash by the
organisation the page names. An anchor never changes once proven (apart from
a later error declaration, which the page shows from the read model), so
proven anchors are kept in memory.
"""
from __future__ import annotations

import threading
from typing import Any

from apps.traceability.codes import leaf_hash, verify_proof
from apps.traceability.contract import CONTRACT_NAME
from apps.traceability.service import TraceService
from apps.traceability.store import Code, Event
from chain.sdk import ProofReport

_PROVEN: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()
MAX_CACHED = 100_000


def _view(report: ProofReport, fact: str, ok: bool, why: str = "") -> dict[str, Any]:
    return {"fact": fact, "verified": bool(report.verified and ok), "height": report.height,
            "validators": len(report.validators or ()), "quorum": report.quorum,
            "reason": why or (report.reason or "")}


def item_proofs(service: TraceService, gtin: str, serial: str, events: list[Event]) -> list[dict[str, Any]]:
    """Each fact of an item's page with whether its proof verified, at which height and by how many validators."""
    public = service.client(None)
    store = service.store
    out: list[dict[str, Any]] = []
    code: Code | None = store.get(Code, gtin, serial)
    if code is not None:
        report = public.prove_contract_value(CONTRACT_NAME, "batches", [gtin, code.lot])
        batch = report.value if isinstance(report.value, dict) else {}
        path = service.tree(gtin, code.lot).proof(code.idx)
        in_root = bool(batch) and verify_proof(leaf_hash(serial, code.pin_hash), path, bytes(batch.get("root", b"")))
        out.append(_view(report, f"code {serial} is in batch {code.lot}'s committed root ({len(path)} hashes)", in_root,
                         "" if in_root else "the code's Merkle path does not lead to the committed root"))
    for event in events:
        with _LOCK:
            cached = _PROVEN.get(event.event_hash)
        if cached is None:
            report = public.prove_contract_value(CONTRACT_NAME, "anchors", event.event_hash)
            anchor = report.value if isinstance(report.value, dict) else {}
            ok = anchor.get("org") == event.org
            cached = _view(report, f"{event.biz_step or event.kind} by {event.org} is anchored", ok,
                           "" if ok else "the chain does not hold this event for this organisation")
            if cached["verified"]:
                with _LOCK:
                    if len(_PROVEN) >= MAX_CACHED:
                        _PROVEN.clear()
                    _PROVEN[event.event_hash] = cached
        out.append({**cached, "event_hash": event.event_hash})
    return out
