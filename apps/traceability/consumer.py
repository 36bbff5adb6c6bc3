"""What a consumer sees after scanning an item's QR code: a verdict, the product and brand, and the item's timeline.

Everything comes from the read model (fast: a handful of indexed queries), and
every scan is logged for clone detection. The on-chain proofs behind each fact
are checked separately (proofs.py), so the page never waits on the chain.

Verdicts, first match wins: unknown (no such code was issued), recalled,
decommissioned, suspicious (the PIN was already claimed, or the code is
scanned at implausible rates or in too many places), sold (it was sold
before), expired, genuine.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from apps.traceability.codes import BatchTree
from apps.traceability.digital_link import DigitalLink, expiry_to_date
from apps.traceability.epc_keys import item_key, lot_key
from apps.traceability.service import Party, TraceService
from apps.traceability.store import Batch, Code, Item, Product, Report, Scan

log = logging.getLogger(__name__)

UNKNOWN, RECALLED, DECOMMISSIONED, SUSPICIOUS, SOLD, EXPIRED, GENUINE = (
    "unknown", "recalled", "decommissioned", "suspicious", "sold", "expired", "genuine")
#: More scans of one code than this within an hour look like a copied code.
MAX_SCANS_PER_HOUR = 20
#: Scans of one code from more distinct places than this within a day look like a copied code.
MAX_PLACES_PER_DAY = 3
HOUR_MS = 3_600_000
#: How many levels of containers (case, pallet, ...) an item's timeline follows.
CONTAINER_DEPTH = 3


@dataclass(frozen=True)
class TimelineEntry:
    """One signed step in an item's history."""

    event_hash: str
    time: str
    step: str
    kind: str
    action: str
    org: str
    org_label: str
    place: str
    disposition: str
    via: str  # the container the event named, if it named one rather than the item
    sensors: tuple[str, ...]
    height: int
    tx_hash: str
    corrected_by: str


@dataclass(frozen=True)
class ScanResult:
    """The consumer page's content for one scanned code."""

    verdict: str
    reasons: tuple[str, ...]
    key: str
    gtin: str
    serial: str
    lot: str
    expiry: str
    product: Product | None = None
    brand: Party | None = None
    batch: Batch | None = None
    item: Item | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    cold_chain: str = ""
    scans_last_hour: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def look_up(service: TraceService, link: DigitalLink, place: str, client: str, now_ms: int, today: date,
            log_scan: bool = True) -> ScanResult:
    """The verdict and history of a scanned code; the scan is logged (off chain) for clone detection."""
    store = service.store
    gtin, serial = link.gtin.digits, link.serial or ""
    key = item_key(gtin, serial)
    code: Code | None = store.get(Code, gtin, serial)
    product: Product | None = store.get(Product, gtin)
    lot = code.lot if code is not None else (link.lot or "")
    batch: Batch | None = store.get(Batch, gtin, lot) if lot else None
    base = dict(key=key, gtin=gtin, serial=serial, lot=lot, product=product, batch=batch,
                brand=service.config.parties.get(product.org) if product else None)
    if code is None or batch is None or batch.status != "committed" or (link.lot and link.lot != code.lot):
        reason = ("this code was never issued" if code is None or batch is None or batch.status != "committed"
                  else f"the lot printed ({link.lot}) is not this code's lot")
        if code is None:  # a forged serial borrows nothing from the real lot it names
            base["batch"] = None
        result = ScanResult(UNKNOWN if code is None or batch is None else SUSPICIOUS, (reason,), expiry="", **base)
        _log(service, result, place, client, now_ms, log_scan)
        return result
    item: Item | None = store.get(Item, key)
    timeline = _timeline(service, key, lot_key(gtin, lot))
    recent = store.scans_since(key, now_ms - 24 * HOUR_MS)
    last_hour = [s for s in recent if s.at_ms >= now_ms - HOUR_MS]
    places = {s.place for s in recent if s.place} | ({place} if place else set())
    verdict, reasons = _verdict(batch, item, last_hour, places, today)
    result = ScanResult(verdict, tuple(reasons), expiry=batch.expiry, item=item, timeline=timeline,
                        cold_chain=_cold_chain(timeline), scans_last_hour=len(last_hour) + 1, **base)
    _log(service, result, place, client, now_ms, log_scan)
    return result


def _verdict(batch: Batch, item: Item | None, last_hour: list[Scan], places: set[str], today: date) -> tuple[str, list[str]]:
    if batch.recalled:
        return RECALLED, [f"batch {batch.lot} was recalled: {batch.recalled}"]
    state = item.state if item is not None else "active"
    if state == "decommissioned":
        return DECOMMISSIONED, ["this item was taken out of circulation"]
    suspicious = []
    if item is not None and item.claimed:
        suspicious.append(f"its PIN was already claimed (block {item.claimed}); if that was you, all is well")
    if len(last_hour) + 1 > MAX_SCANS_PER_HOUR:
        suspicious.append(f"this code was scanned {len(last_hour) + 1} times in the last hour")
    if len(places) > MAX_PLACES_PER_DAY:
        suspicious.append(f"this code was scanned in {len(places)} different places within a day")
    if suspicious:
        return SUSPICIOUS, suspicious
    if state == "sold":
        return SOLD, ["this item was already sold to a consumer; if you are buying it as new, it may be a copy"]
    if batch.expiry and expiry_to_date(batch.expiry) < today:
        return EXPIRED, [f"it expired on {expiry_to_date(batch.expiry).isoformat()}"]
    return GENUINE, ["this code was issued by the brand and committed on chain"]


def _timeline(service: TraceService, key: str, lot: str) -> tuple[TimelineEntry, ...]:
    """Events of the item, of its lot, and of the containers it was packed in (with the container named)."""
    store = service.store
    keys, frontier = {key: "", lot: ""}, [key]
    for _ in range(CONTAINER_DEPTH):
        frontier = [p for p in store.parents_of(frontier) if p not in keys]
        if not frontier:
            break
        keys.update((p, p) for p in frontier)
    events = store.events_of(list(keys))
    named_by = store.keys_of_events([e.event_hash for e in events])
    entries = []
    for event in events:
        named = [k for k, _ in named_by[event.event_hash]]
        via = next((k for k in named if keys.get(k)), "") if key not in named else ""
        party = service.config.parties.get(event.org)
        entries.append(TimelineEntry(
            event.event_hash, event.event_time, event.biz_step, event.kind, event.action, event.org,
            party.label if party else event.org, event.biz_location or event.read_point, event.disposition, via,
            tuple(_sensor_lines(json.loads(event.document))), event.height, event.tx_hash, event.corrected_by))
    return tuple(entries)


#: Appended to a sensor line whose report raised an alarm (a reading outside the allowed range).
ALARM_MARK = "(alarm)"


def _sensor_lines(document: dict[str, Any]) -> list[str]:
    lines = []
    for element in document.get("sensorElementList", []) or []:
        for report in element.get("sensorReport", []) or []:
            kind = str(report.get("type", "")).split(":")[-1].split("-")[-1]
            unit = report.get("uom", "")
            values = [report[k] for k in ("value", "minValue", "maxValue", "meanValue") if k in report]
            if values:
                alarm = f" {ALARM_MARK}" if report.get("exception") == "ALARM_CONDITION" else ""
                lines.append(f"{kind} {', '.join(str(v) for v in values)} {unit}{alarm}".strip())
    return lines


def _cold_chain(timeline: tuple[TimelineEntry, ...]) -> str:
    """A one-line summary of the temperature readings along the way."""
    readings: list[float] = []
    alarms = 0
    for entry in timeline:
        for line in entry.sensors:
            alarms += line.endswith(ALARM_MARK)
            if line.startswith("Temperature "):
                for part in line.split(" ", 1)[1].replace(",", " ").split():
                    try:
                        readings.append(float(part))
                    except ValueError:
                        pass
    if not readings:
        return ""
    outside = "" if not alarms else f"; {alarms} outside the allowed range"
    if len(readings) == 1:
        return f"1 temperature reading, {readings[0]:g} °C{outside}"
    return f"{len(readings)} temperature readings, {min(readings):g} to {max(readings):g} °C{outside}"


def _log(service: TraceService, result: ScanResult, place: str, client: str, now_ms: int, log_scan: bool) -> None:
    if log_scan:
        service.store.add(Scan(key=result.key, at_ms=now_ms, place=place[:64], client=client[:64],
                               verdict=result.verdict, period=""))


def report_counterfeit(service: TraceService, key: str, note: str, place: str, now_ms: int) -> None:
    """Record a consumer's counterfeit report (off chain, for the brand's console)."""
    service.store.add(Report(key=key[:64], at_ms=now_ms, note=note.strip()[:1000], place=place[:64]))


def scan_leaf(scan: Scan) -> bytes:
    """The Merkle leaf of one logged scan (what a period's on-chain commitment covers)."""
    text = f"{scan.id}|{scan.key}|{scan.at_ms}|{scan.place}|{scan.client}|{scan.verdict}"
    return hashlib.sha256(b"\x00trace-scan|" + text.encode()).digest()


def period_of(now_ms: int) -> str:
    """The hourly period a time falls in (UTC), as the scan commitments name it."""
    return datetime.fromtimestamp(now_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H")


def commit_scan_log(service: TraceService, now_ms: int) -> list[tuple[str, int]]:
    """Commit each finished hour's scans on chain as one Merkle root (signed by the scan service); (period, count)."""
    current = period_of(now_ms)
    pending: dict[str, list[Scan]] = {}
    for scan in service.store.uncommitted_scans(now_ms):
        period = period_of(scan.at_ms)
        if period != current:
            pending.setdefault(period, []).append(scan)
    done = []
    for period, scans in sorted(pending.items()):
        root = BatchTree.build([scan_leaf(s) for s in scans]).root
        service.commit_scans(period, root, len(scans))
        service.store.set_scan_period([s.id for s in scans], period)
        done.append((period, len(scans)))
    return done


class ScanCommitter:
    """Commits finished hours of the scan log on chain in the background (checks every `interval_s`)."""

    def __init__(self, service: TraceService, interval_s: float = 300.0) -> None:
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-committer", daemon=True)

    def start(self) -> None:
        """Start checking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current check."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for period, count in commit_scan_log(self.service, int(time.time() * 1000)):
                    log.info("committed %d scans of %s on chain", count, period)
            except Exception:  # the next check retries; scans are never lost, only committed later
                log.exception("committing the scan log failed")
            self._stop.wait(self.interval_s)
