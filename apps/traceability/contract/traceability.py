"""Traceability rules: GS1 master data, committed item-code batches and EPCIS event anchors.

Identifiers inside the contract are canonical keys the service derives from
EPCIS URIs: "sgtin:<GTIN-14>.<serial>" (one item), "sscc:<SSCC-18>" (a case
or pallet), "lgtin:<GTIN-14>.<lot>" (a lot, for raw materials).

- The consortium operator (role ADMIN) records which organisation holds a GS1
  company prefix; only that organisation registers products (GTINs) under it
  and issues their batches.
- A batch of item codes is committed as one Merkle root. An item exists once
  its batch is committed; the first event that touches an item carries its
  Merkle proof (lot, PIN hash, path), which is checked here, and creates the
  item's state. Leaf = sha256(0x00 | serial | "|" | pin_hash); node =
  sha256(0x01 | left | right); a promoted odd node adds no step.
- Each EPCIS event is anchored by its CBV 2.0 event hash (the duplicate key).
  record() enforces: only the brand commissions its items; nothing happens to
  an item that does not exist, was decommissioned or consumed; one sale per
  item; only the holder ships, packs or sells; aggregation children exist and
  are not packed elsewhere; shipping to another organisation opens a handover
  that only the named receiver completes by recording the receipt, so a
  handover is done when both parties have signed.
- Events are never edited: an error declaration names the event it corrects.
- An event may carry an alert (e.g. a sensor reading outside the product's
  allowed range, raised by the IoT bridge's mapping): it is emitted as an
  Alert event for whoever follows the chain.
"""
from contract import Map, caller_org, caller_roles, emit, event, fail, height, require

ADMIN = "ADMIN"
ACTIVE = "active"
IN_TRANSIT = "in_transit"
SOLD = "sold"
DECOMMISSIONED = "decommissioned"
CONSUMED = "consumed"
KINDS = ("ObjectEvent", "AggregationEvent", "TransformationEvent")
ACTIONS = ("ADD", "OBSERVE", "DELETE", "")
MAX_BATCH = 1000000
MAX_EPCS = 2000
MAX_PATH = 40
MAX_DEPTH = 8
MAX_TEXT = 128
MAX_DOCUMENT = 262144

prefixes = Map("prefixes")
products = Map("products")
batches = Map("batches")
items = Map("items")
containers = Map("containers")
transfers = Map("transfers")
anchors = Map("anchors")
scans = Map("scans")

PrefixAssigned = event("prefix", "org")
ProductRegistered = event("gtin", "org", "name")
BatchIssued = event("gtin", "lot", "org", "count", "root", "expiry")
BatchRecalled = event("gtin", "lot", "org", "reason")
Recorded = event("event_hash", "org", "kind", "step", "epcs")
Handover = event("epc", "sender", "receiver", "shipped", "received")
ErrorDeclared = event("event_hash", "corrects", "org")
PinClaimed = event("epc", "org")
ScansCommitted = event("org", "period", "root", "count")
Alert = event("event_hash", "org", "epc", "message")


def assign_prefix(prefix: str, org: str) -> None:
    """Record that `org` holds a GS1 company prefix (consortium administrators only)."""
    require(ADMIN in caller_roles(), "only a consortium administrator assigns GS1 company prefixes")
    require(len(prefix) >= 6 and len(prefix) <= 12 and prefix.isdigit(), "a GS1 company prefix has 6 to 12 digits")
    require(len(org) > 0 and len(org) <= MAX_TEXT, "org is empty")
    holder = prefixes[prefix] if prefix in prefixes else None
    require(holder is None or holder == org, f"prefix {prefix} is held by {holder}")
    prefixes[prefix] = org
    emit(PrefixAssigned, prefix=prefix, org=org)


def register_product(gtin: str, prefix: str, name: str) -> None:
    """Create master data for a GTIN under one of the caller organisation's company prefixes."""
    _check_gtin(gtin)
    org = caller_org()
    require(prefix in prefixes and prefixes[prefix] == org, f"{org} does not hold the GS1 company prefix {prefix}")
    require(gtin[1:1 + len(prefix)] == prefix, f"GTIN {gtin} is not under company prefix {prefix}")
    require(gtin not in products, f"GTIN {gtin} is already registered")
    require(len(name) > 0 and len(name) <= MAX_TEXT, f"a product name has 1 to {MAX_TEXT} characters")
    products[gtin] = {"org": org, "prefix": prefix, "name": name, "height": height()}
    emit(ProductRegistered, gtin=gtin, org=org, name=name)


def issue_batch(gtin: str, lot: str, count: int, root: bytes, expiry: str) -> None:
    """Commit a batch (lot) of `count` item codes by the Merkle root of their leaves (count 0: a lot without item codes)."""
    org = _brand_of(gtin)
    require(org == caller_org(), f"only {org} issues batches of GTIN {gtin}")
    require(len(lot) > 0 and len(lot) <= 20, "a lot has 1 to 20 characters")
    require((gtin, lot) not in batches, f"batch {gtin}/{lot} already exists")
    require(0 <= count <= MAX_BATCH, f"a batch holds 0 to {MAX_BATCH} items")
    require(len(root) == (32 if count > 0 else 0), "root must be 32 bytes (empty for a lot without item codes)")
    require(expiry == "" or (len(expiry) == 6 and expiry.isdigit()), "expiry is YYMMDD or empty")
    batches[(gtin, lot)] = {"org": org, "count": count, "root": root, "expiry": expiry, "recalled": "",
                            "height": height()}
    emit(BatchIssued, gtin=gtin, lot=lot, org=org, count=count, root=root, expiry=expiry)


def recall(gtin: str, lot: str, reason: str) -> None:
    """Recall a batch (its brand only); every later read shows it as recalled."""
    require((gtin, lot) in batches, f"batch {gtin}/{lot} does not exist")
    batch = batches[(gtin, lot)]
    require(batch["org"] == caller_org(), f"only {batch['org']} recalls its batches")
    require(batch["recalled"] == "", f"batch {gtin}/{lot} is already recalled")
    require(len(reason) > 0 and len(reason) <= 256, "a recall needs a reason of 1 to 256 characters")
    batch["recalled"] = reason
    batches[(gtin, lot)] = batch
    emit(BatchRecalled, gtin=gtin, lot=lot, org=batch["org"], reason=reason)


def record(event_hash: str, facts: dict, proofs: dict, document: str) -> None:
    """Anchor one EPCIS event by its CBV 2.0 hash after checking the traceability rules on its facts.

    The event's EPCIS JSON travels in the transaction (so the chain keeps it) but is not stored in state."""
    require(len(document) <= MAX_DOCUMENT, f"an event document has at most {MAX_DOCUMENT} characters")
    require(event_hash.startswith("ni:///sha-256;") and len(event_hash) <= 100, "event_hash is not a CBV 2.0 hash")
    require(event_hash not in anchors, f"event {event_hash} is already recorded")
    org = caller_org()
    kind = facts.get("kind", "")
    require(kind in KINDS, f"kind must be one of {KINDS}")
    action = facts.get("action", "")
    require(action in ACTIONS, "action must be ADD, OBSERVE or DELETE")
    step = facts.get("step", "")
    require(len(step) <= MAX_TEXT, "step is too long")
    touched = []
    if kind == "ObjectEvent":
        touched = _object_event(org, action, step, _epc_list(facts, "epcs"), facts.get("to", ""), event_hash, proofs)
    elif kind == "AggregationEvent":
        touched = _aggregation_event(org, action, facts.get("parent", ""), _epc_list(facts, "children"), proofs)
    else:
        touched = _transformation_event(org, _epc_list(facts, "inputs"), _epc_list(facts, "outputs"), proofs)
    anchors[event_hash] = {"org": org, "kind": kind, "step": step, "height": height(), "error": ""}
    emit(Recorded, event_hash=event_hash, org=org, kind=kind, step=step, epcs=len(touched))
    alert = facts.get("alert", "")
    if alert != "":
        require(len(alert) <= 2 * MAX_TEXT, "an alert message is too long")
        first = ""
        if len(touched) > 0:
            first = touched[0]
        emit(Alert, event_hash=event_hash, org=org, epc=first, message=alert)


def declare_error(event_hash: str, corrects: str, document: str) -> None:
    """Anchor an EPCIS error declaration for an event the same organisation recorded."""
    require(len(document) <= MAX_DOCUMENT, f"an event document has at most {MAX_DOCUMENT} characters")
    require(event_hash.startswith("ni:///sha-256;") and len(event_hash) <= 100, "event_hash is not a CBV 2.0 hash")
    require(event_hash not in anchors, f"event {event_hash} is already recorded")
    require(corrects in anchors, f"event {corrects} is not recorded")
    org = caller_org()
    original = anchors[corrects]
    require(original["org"] == org, f"only {original['org']} declares errors in its events")
    require(original["error"] == "", f"event {corrects} already has an error declaration")
    original["error"] = event_hash
    anchors[corrects] = original
    anchors[event_hash] = {"org": org, "kind": "ErrorDeclaration", "step": "", "height": height(), "error": ""}
    emit(ErrorDeclared, event_hash=event_hash, corrects=corrects, org=org)


def claim_pin(epc: str, pin: str, salt: bytes, proof: list) -> None:
    """Claim an item's scratch-off PIN once (a second claim of the same code is refused); the brand's service adds
    the item's salt, which the PIN hash on chain needs and a consumer never sees."""
    item = _existing(epc, {epc: proof} if proof else {})
    gtin, serial = _split(epc, "sgtin:")
    require(len(pin) == 10 and len(salt) == 16, "a PIN has 10 characters and its salt 16 bytes")
    expected = sha256(("trace-pin|" + gtin + "|" + serial + "|" + pin.upper() + "|").encode() + salt)
    require(expected == item["pin"], f"wrong PIN for {epc}")
    require(item["claimed"] == 0, f"the PIN of {epc} was already claimed at block {item['claimed']}")
    item["claimed"] = height()
    items[epc] = item
    emit(PinClaimed, epc=epc, org=caller_org())


def commit_scans(period: str, root: bytes, count: int) -> None:
    """Commit the Merkle root of a period's off-chain scan log (once per organisation and period)."""
    org = caller_org()
    require(len(period) > 0 and len(period) <= 32, "period has 1 to 32 characters")
    require(len(root) == 32 and count > 0, "a scan commitment needs a 32-byte root and a positive count")
    require((org, period) not in scans, f"scans of {period} are already committed by {org}")
    scans[(org, period)] = {"root": root, "count": count, "height": height()}
    emit(ScansCommitted, org=org, period=period, root=root, count=count)


def get_product(gtin: str) -> dict:
    """A product's master data (empty if unknown)."""
    return products[gtin] if gtin in products else {}


def get_batch(gtin: str, lot: str) -> dict:
    """A batch's commitment and recall state (empty if unknown)."""
    return batches[(gtin, lot)] if (gtin, lot) in batches else {}


def get_item(epc: str) -> dict:
    """An item's or container's state (empty if never touched)."""
    if epc in items:
        return items[epc]
    return containers[epc] if epc in containers else {}


def get_anchor(event_hash: str) -> dict:
    """Who anchored an event, when, and its error declaration if any (empty if unknown)."""
    return anchors[event_hash] if event_hash in anchors else {}


def get_transfer(epc: str) -> dict:
    """The open handover of an item or container (empty if none)."""
    return transfers[epc] if epc in transfers else {}


# --- event rules ----------------------------------------------------------------------------------------------------

def _object_event(org: str, action: str, step: str, epcs: list, to: str, event_hash: str, proofs: dict) -> list:
    require(len(epcs) > 0, "an ObjectEvent names at least one EPC")
    for epc in epcs:
        if step == "commissioning":
            _commission(org, epc, proofs)
            continue
        state = _existing(epc, proofs)
        current = state["state"]
        require(current != DECOMMISSIONED, f"{epc} was decommissioned")
        require(current != CONSUMED, f"{epc} was consumed by a transformation")
        if step == "shipping":
            require(current == ACTIVE, f"{epc} cannot be shipped: it is {current}")
            require(state["holder"] == org, f"{org} cannot ship {epc}: {state['holder']} holds it")
            require(state["parent"] == "", f"{epc} is packed in {state['parent']}; ship that instead")
            if to != "" and to != org:
                state["state"] = IN_TRANSIT
                transfers[epc] = {"from": org, "to": to, "shipped": event_hash}
        elif step == "receiving":
            if epc in transfers:
                handover = transfers[epc]
                require(handover["to"] == org, f"{epc} was shipped to {handover['to']}, not {org}")
                del transfers[epc]
                _set_holder(epc, state, org)
                state = _existing(epc, {})
                state["state"] = ACTIVE
                emit(Handover, epc=epc, sender=handover["from"], receiver=org, shipped=handover["shipped"],
                     received=event_hash)
            else:
                require(state["holder"] == org, f"no shipment of {epc} to {org} is open")
        elif step == "retail_selling":
            require(current != SOLD, f"{epc} was already sold")
            require(current == ACTIVE, f"{epc} cannot be sold: it is {current}")
            require(state["holder"] == org, f"{org} cannot sell {epc}: {state['holder']} holds it")
            require(epc.startswith("sgtin:"), "only items (SGTINs) are sold")
            state["state"] = SOLD
        elif step == "decommissioning" or action == "DELETE":
            require(state["holder"] == org or (epc.startswith("sgtin:") and _brand_of(_split(epc, "sgtin:")[0]) == org),
                    f"only the holder or the brand decommissions {epc}")
            state["state"] = DECOMMISSIONED
        _save(epc, state)
    return epcs


def _aggregation_event(org: str, action: str, parent: str, children: list, proofs: dict) -> list:
    require(parent.startswith("sscc:") and len(parent) == 23, "an aggregation's parent is an SSCC (sscc:<18 digits>)")
    container = containers[parent] if parent in containers else None
    if action == "ADD":
        require(len(children) > 0, "packing names at least one child")
        if container is None:
            container = {"children": [], "holder": org, "parent": "", "state": ACTIVE}
        require(container["state"] == ACTIVE, f"{parent} cannot take items: it is {container['state']}")
        require(container["holder"] == org, f"{parent} is held by {container['holder']}")
        for child in children:
            require(child != parent, "a container cannot contain itself")
            state = _existing(child, proofs)
            require(state["state"] == ACTIVE, f"{child} cannot be packed: it is {state['state']}")
            require(state["holder"] == org, f"{org} cannot pack {child}: {state['holder']} holds it")
            require(state["parent"] == "" or state["parent"] == parent, f"{child} is already packed in {state['parent']}")
            if state["parent"] == "":
                state["parent"] = parent
                container["children"].append(child)
                _save(child, state)
        containers[parent] = container
        return children
    require(container is not None, f"{parent} has never been packed")
    if action == "DELETE":
        require(container["holder"] == org, f"{parent} is held by {container['holder']}")
        require(container["state"] == ACTIVE, f"{parent} cannot be unpacked: it is {container['state']}")
        leaving = children if len(children) > 0 else list(container["children"])
        for child in leaving:
            require(child in container["children"], f"{child} is not packed in {parent}")
            state = _existing(child, {})
            state["parent"] = ""
            _save(child, state)
            container["children"].pop(container["children"].index(child))
        containers[parent] = container
        return leaving
    for child in children:
        require(child in container["children"], f"{child} is not packed in {parent}")
    return children


def _transformation_event(org: str, inputs: list, outputs: list, proofs: dict) -> list:
    require(len(inputs) > 0 and len(outputs) > 0, "a transformation names inputs and outputs")
    for epc in inputs:
        if epc.startswith("lgtin:"):
            gtin, lot = _split(epc, "lgtin:")
            require((gtin, lot) in batches, f"input lot {gtin}/{lot} does not exist")
            continue
        state = _existing(epc, proofs)
        require(state["state"] == ACTIVE, f"input {epc} cannot be used: it is {state['state']}")
        require(state["holder"] == org, f"{org} cannot transform {epc}: {state['holder']} holds it")
        state["state"] = CONSUMED
        _save(epc, state)
    for epc in outputs:
        if epc.startswith("lgtin:"):
            gtin, lot = _split(epc, "lgtin:")
            require((gtin, lot) in batches, f"output lot {gtin}/{lot} does not exist (issue it first)")
            require(batches[(gtin, lot)]["org"] == org, f"only {batches[(gtin, lot)]['org']} produces lot {gtin}/{lot}")
            continue
        _commission(org, epc, proofs)
    return inputs + outputs


# --- items ------------------------------------------------------------------------------------------------------------

def _commission(org: str, epc: str, proofs: dict) -> None:
    gtin, serial = _split(epc, "sgtin:")
    brand = _brand_of(gtin)
    require(brand == org, f"only {brand} commissions items of GTIN {gtin}")
    state = _existing(epc, proofs)
    require(not state["commissioned"], f"{epc} is already commissioned")
    require(state["state"] == ACTIVE, f"{epc} cannot be commissioned: it is {state['state']}")
    state["commissioned"] = True
    _save(epc, state)


def _existing(epc: str, proofs: dict) -> dict:
    """The state of an item or container; an item's first use proves its code against the batch root."""
    if epc in items:
        return items[epc]
    if epc in containers:
        return containers[epc]
    require(epc.startswith("sgtin:"), f"{epc} does not exist")
    gtin, serial = _split(epc, "sgtin:")
    require(epc in proofs, f"{epc} does not exist yet: its first event needs its code proof")
    proof = proofs[epc]
    require(len(proof) == 3, "a code proof is [lot, pin_hash, path]")
    lot, pin_hash, path = proof[0], proof[1], proof[2]
    require((gtin, lot) in batches, f"{epc} does not exist: batch {gtin}/{lot} was never issued")
    batch = batches[(gtin, lot)]
    require(len(pin_hash) == 32 and len(path) <= MAX_PATH, "malformed code proof")
    node = sha256(b"\x00" + serial.encode() + b"|" + pin_hash)
    for sibling, is_left in path:
        require(len(sibling) == 32, "malformed code proof")
        node = sha256(b"\x01" + sibling + node) if is_left else sha256(b"\x01" + node + sibling)
    require(node == batch["root"], f"{epc} is not a genuine code of batch {gtin}/{lot}")
    state = {"lot": lot, "pin": pin_hash, "state": ACTIVE, "holder": batch["org"], "parent": "",
             "commissioned": False, "claimed": 0, "since": height()}
    items[epc] = state
    return state


def _save(epc: str, state: dict) -> None:
    if epc.startswith("sscc:"):
        containers[epc] = state
    else:
        items[epc] = state


def _set_holder(epc: str, state: dict, org: str) -> None:
    """Hand an item or a container over, with everything packed in it."""
    state["holder"] = org
    _save(epc, state)
    pending = list(state["children"]) if epc.startswith("sscc:") else []
    depth = 0
    while len(pending) > 0:
        depth += 1
        require(depth <= MAX_EPCS * MAX_DEPTH, "containers nest too deeply")
        child = pending.pop()
        inner = _existing(child, {})
        inner["holder"] = org
        _save(child, inner)
        if child.startswith("sscc:"):
            pending.extend(inner["children"])


def _epc_list(facts: dict, name: str) -> list:
    value = facts.get(name, [])
    require(len(value) <= MAX_EPCS, f"at most {MAX_EPCS} identifiers in {name}")
    seen = {}
    for epc in value:
        require(epc.startswith("sgtin:") or epc.startswith("sscc:") or epc.startswith("lgtin:"),
                f"{epc} is not an sgtin:, sscc: or lgtin: key")
        require(epc not in seen, f"{epc} is listed twice in {name}")
        seen[epc] = True
    return value


def _split(epc: str, prefix: str) -> tuple:
    """(GTIN, serial or lot) of an sgtin:/lgtin: key."""
    body = epc[epc.find(":") + 1:]
    require(prefix == "" or epc.startswith(prefix), f"{epc} is not an {prefix} key")
    dot = body.find(".")
    require(dot == 14, f"{epc} is not <GTIN-14>.<serial>")
    return body[:14], body[15:]


def _brand_of(gtin: str) -> str:
    require(gtin in products, f"GTIN {gtin} is not registered")
    return products[gtin]["org"]


def _check_gtin(gtin: str) -> None:
    require(len(gtin) == 14 and gtin.isdigit(), "a GTIN has 14 digits")
    total = 0
    for i in range(13):
        total += int(gtin[i]) * (3 if i % 2 == 0 else 1)
    if (10 - total % 10) % 10 != int(gtin[13]):
        fail(f"GTIN {gtin} has a wrong check digit")
