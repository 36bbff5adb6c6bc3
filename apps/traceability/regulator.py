"""A regulator's traces of a batch: forward (where its items went) and backward (which lots went into it), as XLSX too.

Forward: every item of the batch with its state, its last holder (a packed
item is where its outermost container is), the handovers it went through
(shipped by one organisation to another, received by the named receiver),
directly or inside cases and pallets while it was packed in them. Backward:
the TransformationEvents whose outputs are the batch's items or lot, their
inputs, and the same for the input lots, recursively. Every row names the
event hash and block height it rests on, so each can be checked on chain.
"""
from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import String, literal, or_, select

from apps.traceability.consumer import CONTAINER_DEPTH
from apps.traceability.epc_keys import lot_key, split_key
from apps.traceability.epcis import canonical_link
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import Gtin, IdentifierError, parse_lot
from apps.traceability.service import TraceService
from apps.traceability.store import Batch, Code, Event, EventEpc, Item, Product, TraceStore

#: How many lots deep a backward trace follows inputs.
MAX_DEPTH = 8
_ITEM_KEY = literal("sgtin:", String) + Code.gtin + literal(".", String) + Code.serial


@dataclass(frozen=True)
class Step:
    """One anchored event as a trace cites it (checkable on chain by hash, block and transaction)."""

    event_hash: str
    height: int
    tx_hash: str
    org: str
    kind: str
    action: str
    step: str
    time: str
    via: str = ""  # the container the event named, when it reached the item through one

    @property
    def position(self) -> tuple[str, int, str]:
        """Where the event sorts: event time, then block height."""
        return self.time, self.height, self.event_hash


@dataclass(frozen=True)
class Handover:
    """An item shipped by one organisation to another, and its receipt by the named receiver (None while open)."""

    sender: str
    receiver: str
    shipped: Step
    received: Step | None


@dataclass(frozen=True)
class ItemTrace:
    """Where one item of the batch is and how it got there."""

    key: str
    serial: str
    state: str
    holder: str
    container: str  # the chain of containers it is packed in, innermost first ("" if none)
    claimed: int  # the block of its consumer PIN claim (0: none)
    events: int
    last: Step | None
    handovers: tuple[Handover, ...]


@dataclass(frozen=True)
class ForwardTrace:
    """A batch traced forward: its items and every event that touched them, their containers or the lot."""

    batch: Batch
    items: tuple[ItemTrace, ...]
    events: tuple[Step, ...]


@dataclass(frozen=True)
class InputRow:
    """One input of a transformation that produced part of a traced lot."""

    depth: int  # 1: an input of the batch itself; 2: an input of such an input's lot; ...
    output_lot: str  # the lot (GTIN/lot) the transformation produced
    outputs: tuple[str, ...]  # which of its keys the transformation names as outputs
    transformation: Step
    input_key: str
    input_gtin: str
    input_lot: str
    producer: str  # the organisation that issued the input lot ("" if unknown here)
    recalled: str


@dataclass(frozen=True)
class BackwardTrace:
    """A batch traced backward to the lots that went into it."""

    batch: Batch
    rows: tuple[InputRow, ...]


def committed_batch(store: TraceStore, gtin: str, lot: str) -> Batch:
    """A committed batch (TraceError 404 if there is none)."""
    try:
        found = store.get(Batch, Gtin.parse(gtin).digits, parse_lot(lot))
    except IdentifierError as exc:
        raise TraceError(str(exc), exc.field) from None
    if found is None or found.status != "committed":
        raise TraceError(f"no batch {gtin}/{lot}", "lot", 404)
    return found  # type: ignore[no-any-return]


def batch_events(store: TraceStore, batch: Batch, limit: int = 200) -> list[Event]:
    """The latest events naming the batch's items or its lot, newest first."""
    named = select(EventEpc.event_hash).where(or_(
        EventEpc.key.in_(select(_ITEM_KEY).where(Code.gtin == batch.gtin, Code.lot == batch.lot)),
        EventEpc.key == lot_key(batch.gtin, batch.lot)))
    return store.all(select(Event).where(Event.event_hash.in_(named))
                     .order_by(Event.event_time.desc(), Event.height.desc()).limit(limit))


# --- loading events --------------------------------------------------------------------------------------------------


class _Events:
    """Events loaded from the read model with every identifier each names, by role."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.documents: dict[str, str] = {}
        self.roles: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.by_key: dict[str, set[str]] = defaultdict(set)

    def load(self, store: TraceStore, condition: Any) -> None:
        """Add the events naming any identifier the condition on EventEpc selects."""
        hashes = select(EventEpc.event_hash).where(condition)
        new = select(Event).where(Event.event_hash.in_(hashes))
        with store.session() as s:
            for event in s.scalars(new):
                if event.event_hash in self.steps:
                    continue
                self.steps[event.event_hash] = Step(event.event_hash, event.height, event.tx_hash, event.org,
                                                    event.kind, event.action, event.biz_step, event.event_time)
                self.documents[event.event_hash] = event.document
            rows = s.execute(select(EventEpc.event_hash, EventEpc.key, EventEpc.role)
                             .where(EventEpc.event_hash.in_(hashes)).order_by(EventEpc.key))
            for digest, key, role in rows:
                if key not in self.roles[digest][role]:
                    self.roles[digest][role].append(key)
                    self.by_key[key].add(digest)

    def of(self, key: str) -> list[Step]:
        """The events naming a key, in order."""
        return sorted((self.steps[h] for h in self.by_key.get(key, ()) if h in self.steps), key=lambda s: s.position)

    def destination(self, service: TraceService, digest: str) -> str:
        """The organisation an event ships to (its owning_party destination), "" if none."""
        document = json.loads(self.documents.get(digest) or "{}")
        for item in document.get("destinationList") or ():
            if str(item.get("type", "")).endswith("owning_party"):
                link = canonical_link(str(item.get("destination", ""))) or ""
                if "/417/" in link:
                    return service.org_of_gln(link.rsplit("/417/", 1)[1][:13])
        return ""


_Window = tuple[str, tuple[str, int, str], tuple[str, int, str] | None]  # container, from, until


def _memberships(events: _Events) -> dict[str, list[_Window]]:
    """For each packed identifier, the containers it was in and from when until when."""
    windows: dict[str, list[list[Any]]] = defaultdict(list)
    aggregations = sorted((s for s in events.steps.values() if s.kind == "AggregationEvent"), key=lambda s: s.position)
    for step in aggregations:
        roles = events.roles[step.event_hash]
        for parent in roles.get("parent", []):
            children = roles.get("child", [])
            if step.action == "ADD":
                for child in children:
                    if not any(w[0] == parent and w[2] is None for w in windows[child]):
                        windows[child].append([parent, step.position, None])
            elif step.action == "DELETE":
                leaving = children or [c for c, ws in windows.items()
                                       if any(w[0] == parent and w[2] is None for w in ws)]
                for child in leaving:
                    for window in windows[child]:
                        if window[0] == parent and window[2] is None:
                            window[2] = step.position
    return {k: [(w[0], w[1], w[2]) for w in ws] for k, ws in windows.items()}


def _reaching(events: _Events, windows: dict[str, list[_Window]], key: str, low: tuple[str, int, str] | None = None,
              high: tuple[str, int, str] | None = None, via: str = "", depth: int = 0) -> list[Step]:
    """The events that reached a key between two positions: its own, and its containers' while it was packed."""
    found = {s.event_hash: s if not via else replace(s, via=via) for s in events.of(key)
             if (low is None or s.position >= low) and (high is None or s.position < high)}
    if depth < CONTAINER_DEPTH:
        for container, start, end in windows.get(key, ()):
            lo = max(start, low) if low is not None else start
            hi = end if high is None else (high if end is None else min(end, high))
            if hi is None or lo < hi:
                for step in _reaching(events, windows, container, lo, hi, via or container, depth + 1):
                    found.setdefault(step.event_hash, step)
    return sorted(found.values(), key=lambda s: s.position)


def _handovers(service: TraceService, events: _Events, steps: Sequence[Step]) -> tuple[Handover, ...]:
    """Shipments to another organisation, each with its receipt by the receiver if recorded."""
    done: list[Handover] = []
    open_: Handover | None = None
    for step in steps:
        if step.kind != "ObjectEvent":
            continue
        if step.step == "shipping":
            receiver = events.destination(service, step.event_hash)
            if receiver and receiver != step.org:
                if open_ is not None:
                    done.append(open_)
                open_ = Handover(step.org, receiver, step, None)
        elif step.step == "receiving" and open_ is not None and step.org == open_.receiver:
            done.append(Handover(open_.sender, open_.receiver, open_.shipped, step))
            open_ = None
    return tuple(done + ([open_] if open_ is not None else []))


# --- forward ---------------------------------------------------------------------------------------------------------


def _packed_in(windows: dict[str, list[_Window]], key: str) -> list[str]:
    """The containers an identifier is packed in now, innermost first."""
    chain: list[str] = []
    current = key
    while len(chain) < CONTAINER_DEPTH:
        open_ = [container for container, _, end in windows.get(current, ()) if end is None]
        if not open_ or open_[-1] in chain:
            break
        current = open_[-1]
        chain.append(current)
    return chain


def forward_trace(service: TraceService, gtin: str, lot: str) -> ForwardTrace:
    """Where every item of a batch went: state, last holder, handovers (also inside containers)."""
    store = service.store
    batch = committed_batch(store, gtin, lot)
    items_of_batch = select(_ITEM_KEY).where(Code.gtin == batch.gtin, Code.lot == batch.lot)
    events, windows = _events_reaching(store, or_(EventEpc.key.in_(items_of_batch),
                                                  EventEpc.key == lot_key(batch.gtin, batch.lot)))
    states = {row.key: row for row in store.all(select(Item).where(Item.key.in_(items_of_batch)))}
    traces = tuple(_item_trace(service, events, windows, f"sgtin:{code.gtin}.{code.serial}", states, batch.org)
                   for code in store.codes(batch.gtin, batch.lot))
    return ForwardTrace(batch, traces, tuple(sorted(events.steps.values(), key=lambda s: s.position)))


def item_trace(service: TraceService, key: str) -> ItemTrace | None:
    """One item traced as forward_trace traces each item of its batch (None for containers and lots)."""
    store = service.store
    kind, gtin, serial = split_key(key)
    if kind != "sgtin":
        return None
    code = store.get(Code, gtin, serial)
    batch = store.get(Batch, gtin, code.lot) if code is not None else None
    product = store.get(Product, gtin)
    first_holder = batch.org if batch is not None else (product.org if product is not None else "")
    events, windows = _events_reaching(store, EventEpc.key == key)
    return _item_trace(service, events, windows, key, {key: store.get(Item, key)}, first_holder)


def _events_reaching(store: TraceStore, condition: Any) -> tuple[_Events, dict[str, list[_Window]]]:
    """The events naming what the condition selects, and those of the containers it was packed in (and theirs)."""
    events = _Events()
    events.load(store, condition)
    seen: set[str] = set()
    for _ in range(CONTAINER_DEPTH):  # the cases the items were packed in, the pallets those were in, ...
        parents = {p for roles in list(events.roles.values()) for p in roles.get("parent", [])} - seen
        if not parents:
            break
        seen |= parents
        events.load(store, EventEpc.key.in_(sorted(parents)))
    return events, _memberships(events)


def _item_trace(service: TraceService, events: _Events, windows: dict[str, list[_Window]], key: str,
                states: dict[str, Item | None], first_holder: str) -> ItemTrace:
    reached = _reaching(events, windows, key)
    handovers = _handovers(service, events, reached)
    # the contract changes a holder only when the named receiver records the receipt of a handover
    holder = next((h.receiver for h in reversed(handovers) if h.received is not None), first_holder)
    item = states.get(key)
    return ItemTrace(key, key.split(".", 1)[1], item.state if item else "issued", holder,
                     " > ".join(_packed_in(windows, key)), item.claimed if item else 0, len(reached),
                     reached[-1] if reached else None, handovers)


# --- backward --------------------------------------------------------------------------------------------------------


def backward_trace(service: TraceService, gtin: str, lot: str, max_depth: int = MAX_DEPTH) -> BackwardTrace:
    """The lots that went into a batch through TransformationEvents, and theirs in turn (up to max_depth)."""
    store = service.store
    batch = committed_batch(store, gtin, lot)
    rows: list[InputRow] = []
    frontier, visited = [(batch.gtin, batch.lot)], {(batch.gtin, batch.lot)}
    for depth in range(1, max_depth + 1):
        following: list[tuple[str, str]] = []
        for g, lt in frontier:
            outputs_of_lot = or_(EventEpc.key == lot_key(g, lt), EventEpc.key.in_(
                select(_ITEM_KEY).where(Code.gtin == g, Code.lot == lt)))
            events = _Events()
            events.load(store, (EventEpc.role == "output") & outputs_of_lot)
            for step in sorted(events.steps.values(), key=lambda s: s.position):
                roles = events.roles[step.event_hash]
                mine = tuple(k for k in roles.get("output", []) if _lot_of(store, k) == (g, lt))
                if step.kind != "TransformationEvent" or not mine:
                    continue
                for key in roles.get("input", []):
                    source = _lot_of(store, key)
                    found = store.get(Batch, *source) if source[1] else None
                    rows.append(InputRow(depth, f"{g}/{lt}", mine, step, key, source[0], source[1],
                                         found.org if found else "", found.recalled if found else ""))
                    if source[1] and source not in visited:
                        visited.add(source)
                        following.append(source)
        frontier = following
        if not frontier:
            break
    return BackwardTrace(batch, tuple(rows))


def _lot_of(store: TraceStore, key: str) -> tuple[str, str]:
    """(GTIN, lot) an identifier belongs to: a lot's own, an item's from its code ("" when unknown here)."""
    try:
        kind, number, rest = split_key(key)
    except IdentifierError:
        return "", ""
    if kind == "lgtin":
        return number, rest
    if kind == "sgtin":
        code = store.get(Code, number, rest)
        return number, code.lot if code else ""
    return number, ""


# --- spreadsheet -----------------------------------------------------------------------------------------------------


def export_xlsx(forward: ForwardTrace, backward: BackwardTrace, chain_height: int = 0) -> bytes:
    """Both traces as an XLSX workbook: Summary, Items, Handovers, Events and Inputs sheets."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    batch = forward.batch
    summary = book.create_sheet("Summary")
    for row in (("GTIN", batch.gtin), ("Lot", batch.lot), ("Brand", batch.org), ("Items", batch.count),
                ("Merkle root", batch.root.hex()), ("Committed at block", batch.height),
                ("Commit transaction", batch.tx_hash), ("Recalled", batch.recalled or "no"),
                ("Expiry (YYMMDD)", batch.expiry), ("Read model at block", chain_height),
                ("Exported (UTC)", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("Check", "every event hash is a key of the traceability contract's anchors map; "
                          "heights and transactions are on the ledger")):
        summary.append(list(row))
    _sheet(book, "Items", ("Item", "Serial", "State", "Holder", "Packed in", "PIN claimed at block", "Events",
                           "Last step", "Last event time (UTC)", "Last event hash", "Last event block",
                           "Handovers"),
           ((t.key, t.serial, t.state, t.holder, t.container, t.claimed or "", t.events,
             t.last.step if t.last else "", t.last.time if t.last else "", t.last.event_hash if t.last else "",
             t.last.height if t.last else "", len(t.handovers)) for t in forward.items))
    _sheet(book, "Handovers", ("Item", "From", "To", "Via container", "Shipped (UTC)", "Shipping event hash",
                               "Shipping block", "Received (UTC)", "Receiving event hash", "Receiving block"),
           ((t.key, h.sender, h.receiver, h.shipped.via, h.shipped.time, h.shipped.event_hash, h.shipped.height,
             h.received.time if h.received else "", h.received.event_hash if h.received else "",
             h.received.height if h.received else "") for t in forward.items for h in t.handovers))
    _sheet(book, "Events", ("Event hash", "Block", "Transaction", "Organisation", "Type", "Action", "Business step",
                            "Event time (UTC)"),
           ((s.event_hash, s.height, s.tx_hash, s.org, s.kind, s.action, s.step, s.time) for s in forward.events))
    _sheet(book, "Inputs", ("Depth", "Produced lot", "Outputs named", "Transformation event hash", "Block",
                            "Transaction", "Organisation", "Event time (UTC)", "Input", "Input GTIN", "Input lot",
                            "Input producer", "Input lot recalled"),
           ((r.depth, r.output_lot, len(r.outputs), r.transformation.event_hash, r.transformation.height,
             r.transformation.tx_hash, r.transformation.org, r.transformation.time, r.input_key, r.input_gtin,
             r.input_lot, r.producer, r.recalled) for r in backward.rows))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Any, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
