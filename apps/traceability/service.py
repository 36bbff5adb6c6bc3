"""Traceability domain operations: master data, code issuance, EPCIS capture, recalls and PIN claims.

Every write is a transaction signed by the acting organisation's own key and
sent through the gateway with chain/sdk; the read model (store.py) follows the
chain through `sync`, which is the one path by which anything reaches it, so
it can always be rebuilt from the ledger (except what never goes on chain: the
brand's PINs and the consumer scan log).
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from apps.traceability import codes as item_codes
from apps.traceability.contract import CONTRACT_NAME, contract_source
from apps.traceability.epc_keys import item_key, to_key
from apps.traceability.epcis import EpcisError, EpcisEvent, dumps, event_hash, parse_document
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import Gtin, IdentifierError, check_digit, parse_lot
from apps.traceability.store import Batch, Code, DeviceAssignment, Event, Item, Product, TraceStore, Tree
from chain.sdk import ApiError, Client, PrivateKey, compile_contract, decode_value, encode_args
from chain.sdk.operations import ContractPolicy, DeployContract, InvokeContract

log = logging.getLogger(__name__)

#: Events per capture request (one transaction: all are anchored or none).
MAX_CAPTURE_EVENTS = 200
SYNC = "traceability"
#: An error declaration is anchored under the hash of the event it declares erroneous plus this suffix.
ERROR_SUFFIX = "#error"
_DECIMAL = re.compile(r"-?\d{1,9}(\.\d{1,6})?")
_ITEM_MAPS = ("items", "containers")


@dataclass(frozen=True)
class Party:
    """A member organisation as the traceability app knows it: chain name, display name and party GLN."""

    name: str
    label: str
    gln: str
    kind: str = "brand"  # brand, logistics, retailer, regulator, service


@dataclass
class TraceConfig:
    """Where the chain is and who acts on it."""

    gateway: str
    ledger: str
    resolver: str  # host[:port] of the Digital Link resolver (our consumer page)
    scheme: str = "https"
    parties: Mapping[str, Party] = field(default_factory=dict)
    keys: Mapping[str, PrivateKey] = field(default_factory=dict)
    scan_service: str = ""  # the organisation that signs PIN claims and scan commitments for consumers


class TraceService:
    """The traceability application over chain/sdk and its read model."""

    def __init__(self, config: TraceConfig, store: TraceStore) -> None:
        self.config = config
        self.store = store
        self._clients: dict[str, Client] = {}
        self._sync_lock = threading.Lock()
        self._known_txs: dict[str, list[tuple[str, list[Any]]]] = {}

    # -- clients ----------------------------------------------------------------------------------------------------

    def client(self, org: str | None = None) -> Client:
        """The SDK client acting for an organisation (None: a public, keyless reader)."""
        name = org or ""
        found = self._clients.get(name)
        if found is None:
            key = None
            if org is not None:
                key = self.config.keys.get(org)
                if key is None:
                    raise TraceError(f"this service holds no key of {org!r}", "org", 403)
            found = self._clients[name] = Client(self.config.gateway, self.config.ledger, key=key)
        return found

    def party(self, org: str) -> Party:
        """A known organisation."""
        found = self.config.parties.get(org)
        if found is None:
            raise TraceError(f"unknown organisation {org!r}", "org", 404)
        return found

    def org_of_gln(self, gln: str) -> str:
        """The organisation whose party GLN this is ('' if none)."""
        return next((p.name for p in self.config.parties.values() if p.gln == gln), "")

    # -- setup -------------------------------------------------------------------------------------------------------

    def deploy(self, admin_keys: Sequence[PrivateKey], policy: ContractPolicy | None = None) -> bool:
        """Deploy the traceability contract (endorsed by every given administrator; the default policy is a majority
        of the member organisations) unless it is there; True if deployed."""
        admin = Client(self.config.gateway, self.config.ledger, key=admin_keys[0])
        try:
            admin.contract(CONTRACT_NAME)
            return False
        except ApiError as exc:
            if exc.status != 404:
                raise
        ir = compile_contract(contract_source(), "traceability.py").encode()
        tx = admin.build([DeployContract(CONTRACT_NAME, ir, policy)], signers=list(admin_keys))
        self._settle(admin, admin.submit([tx], wait_ms=30_000)[0], "deploy the traceability contract")
        return True

    def assign_prefix(self, operator: Client, prefix: str, org: str) -> None:
        """Record an organisation's GS1 company prefix (signed by a consortium administrator)."""
        self._invoke(operator, "assign_prefix", [prefix, org])

    # -- master data and codes --------------------------------------------------------------------------------------

    def register_product(self, org: str, gtin: str, prefix: str, name: str) -> Product:
        """Register a product (GTIN) under one of the organisation's company prefixes."""
        digits = _gtin(gtin)
        self.sync(self._invoke(self.client(org), "register_product", [digits, prefix, name.strip()])["height"])
        return self.store.get(Product, digits)  # type: ignore[no-any-return]

    def issue_batch(self, org: str, gtin: str, lot: str, count: int, expiry: str = "",
                    progress: Callable[[str], None] | None = None) -> Batch:
        """Issue `count` item codes for a lot and commit them on chain as one Merkle root (0: a lot without codes)."""
        digits = _gtin(gtin)
        lot = _lot(lot)
        if expiry and (len(expiry) != 6 or not expiry.isdigit()):
            raise TraceError("expiry is YYMMDD", "expiry")
        existing = self.store.get(Batch, digits, lot)
        if existing is not None and existing.status == "committed":
            raise TraceError(f"batch {digits}/{lot} already exists", "lot", 409)
        product = self.store.get(Product, digits)
        if product is not None and product.org != org:
            raise TraceError(f"only {product.org} issues batches of GTIN {digits}", "gtin", 403)
        if existing is None:
            root = b""
            if count != 0:  # a lot without item codes (raw materials) commits an empty root
                try:
                    issued = item_codes.issue_batch(digits, lot, count)
                except IdentifierError as exc:
                    raise TraceError(str(exc), exc.field) from None
                self.store.put_codes(digits, lot, issued.serials, issued.pins, issued.salts, issued.pin_hashes,
                                     issued.tree.to_bytes())
                root = issued.tree.root
            self.store.put(Batch(gtin=digits, lot=lot, org=org, count=count, root=root, expiry=expiry,
                                 status="pending", recalled="", height=0, tx_hash=""))
            existing = self.store.get(Batch, digits, lot)
        if progress:
            progress("codes stored; committing the batch root")
        # a pending batch (codes stored, root not yet on chain) is committed again after a crash: same root
        try:
            receipt = self._invoke(self.client(org), "issue_batch", [digits, lot, existing.count, existing.root, expiry])
        except TraceError:
            self.store.drop_codes(digits, lot)  # the chain refused the batch: its codes must not look issued
            raise
        self.sync(receipt["height"])
        return self.store.get(Batch, digits, lot)  # type: ignore[no-any-return]

    def recall(self, org: str, gtin: str, lot: str, reason: str) -> Batch:
        """Recall a batch; the consumer page shows it at once."""
        self.sync(self._invoke(self.client(org), "recall", [_gtin(gtin), _lot(lot), reason.strip()])["height"])
        return self.store.get(Batch, _gtin(gtin), lot)  # type: ignore[no-any-return]

    def code_proof(self, key: str) -> list[Any] | None:
        """[lot, pin_hash, path] proving an item code against its batch root (None for other identifiers)."""
        if not key.startswith("sgtin:"):
            return None
        gtin, serial = key[6:20], key[21:]
        code = self.store.get(Code, gtin, serial)
        if code is None:
            return None
        tree = self.tree(gtin, code.lot)
        return [code.lot, code.pin_hash, [[sibling, left] for sibling, left in tree.proof(code.idx)]]

    def tree(self, gtin: str, lot: str) -> item_codes.BatchTree:
        """A batch's Merkle tree (kept in memory once loaded)."""
        return _tree_cache(self.store, gtin, lot)

    # -- events ------------------------------------------------------------------------------------------------------

    def capture(self, org: str, document: bytes | str | Mapping[str, Any]) -> list[str]:
        """Anchor every event of an EPCIS 2.0 document in one transaction (all or none); their event hashes."""
        try:
            events = parse_document(document if not isinstance(document, Mapping) else dict(document))
        except EpcisError as exc:
            raise TraceError(str(exc), exc.field) from None
        if not events:
            raise TraceError("the document has no events", "epcisBody.eventList")
        if len(events) > MAX_CAPTURE_EVENTS:
            raise TraceError(f"at most {MAX_CAPTURE_EVENTS} events per capture", "epcisBody.eventList")
        invocations = [self.invocation(org, e, i) for i, e in enumerate(events)]
        client = self.client(org)
        ops = [InvokeContract(CONTRACT_NAME, fn, encode_args(args)) for fn, args in invocations]
        tx = client.build(ops)
        self._known_txs[tx.hash.hex()] = invocations
        receipt = self._settle(client, client.submit([tx], wait_ms=30_000)[0], "anchor the events", events=len(events))
        self.sync(receipt["height"])
        return [args[0] for _, args in invocations]

    def invocation(self, org: str, event: EpcisEvent, index: int = 0) -> tuple[str, list[Any]]:
        """The contract call (function, arguments) that anchors one event for `org` (TraceError names the field)."""
        where = f"epcisBody.eventList[{index}]"
        document = dumps(event.raw)
        digest = event_hash(event)
        if event.error_declaration is not None:
            # the CBV event hash leaves errorDeclaration out: a declaration hashes like the event it declares wrong
            return "declare_error", [digest + ERROR_SUFFIX, digest, document]
        try:
            facts = self._facts(event)
        except IdentifierError as exc:
            raise TraceError(str(exc), f"{where}.{exc.field}") from None
        keys = [*facts.get("epcs", []), *facts.get("children", []), *facts.get("inputs", []), *facts.get("outputs", [])]
        proofs = {k: p for k in keys if (p := self.code_proof(k)) is not None and self.store.get(Item, k) is None}
        return "record", [digest, facts, proofs, document]

    def _facts(self, event: EpcisEvent) -> dict[str, Any]:
        """What the contract checks, from an EPCIS event: kind, action, step, identifiers as keys, receiving party."""
        facts: dict[str, Any] = {"kind": event.type, "action": event.action or "", "step": event.biz_step_name or ""}
        if event.type == "ObjectEvent":
            facts["epcs"] = [to_key(e, "epcList") for e in event.epc_list]
            to = ""
            for item in event.destination_list:
                if item.type.endswith("owning_party"):
                    to = self.org_of_gln(_gln_of_party(item.id))
            facts["to"] = to
        elif event.type == "AggregationEvent":
            facts["parent"] = to_key(event.parent_id or "", "parentID")
            facts["children"] = [to_key(e, "childEPCs") for e in event.child_epcs]
        elif event.type == "TransformationEvent":
            facts["inputs"] = [to_key(e, "inputEPCList") for e in event.input_epc_list]
            facts["outputs"] = [to_key(e, "outputEPCList") for e in event.output_epc_list]
            facts["action"] = ""
        else:
            raise TraceError(f"{event.type} is not recorded by this application", "type")
        return facts

    # -- IoT devices ------------------------------------------------------------------------------------------------

    def assign_device(self, org: str, device: str, epc_uri: str, low: str, high: str, uom: str = "CEL",
                      now_ms: int | None = None) -> DeviceAssignment:
        """Attach a registered device of `org` to a shipment or item: its readings are anchored on it, checked against [low, high]."""
        self.party(org)
        try:
            user = self.client().user(device)
        except ApiError as exc:
            raise TraceError(f"device {device!r} is not registered on the chain: {exc}", "device", 404) from None
        if user.get("participant") != org:
            raise TraceError(f"device {device} belongs to {user.get('participant')}, not {org}", "device", 403)
        try:
            key = to_key(epc_uri, "epc")
        except IdentifierError as exc:
            raise TraceError(str(exc), "epc") from None
        bounds = []
        for name, text in (("low", low), ("high", high)):
            if not _DECIMAL.fullmatch(text.strip()):
                raise TraceError(f"{name} must be a decimal number such as 2 or -18.5, not {text!r}", name)
            bounds.append(Decimal(text.strip()))
        if bounds[0] >= bounds[1]:
            raise TraceError("low must be below high", "low")
        if not re.fullmatch(r"[A-Z0-9]{2,3}", uom):
            raise TraceError("uom must be a UN/CEFACT unit code such as CEL", "uom")
        row = DeviceAssignment(device=device, org=org, epc=key, epc_uri=epc_uri, low=str(bounds[0]),
                               high=str(bounds[1]), uom=uom, since_ms=int(time.time() * 1000) if now_ms is None else now_ms)
        self.store.put(row)
        return row

    def device_assignment(self, device: str) -> DeviceAssignment | None:
        """The shipment a device reports on, if any."""
        return self.store.get(DeviceAssignment, device)  # type: ignore[no-any-return]

    # -- consumers ----------------------------------------------------------------------------------------------------

    def claim_pin(self, gtin: str, serial: str, pin: str) -> None:
        """Claim an item's scratch-off PIN on chain (signed by the scan service)."""
        digits = _gtin(gtin)
        key = item_key(digits, serial)
        code = self.store.get(Code, digits, serial)
        if code is None:
            raise TraceError(f"no item {digits}/{serial} was issued", "serial", 404)
        proof = self.code_proof(key) if self.store.get(Item, key) is None else None
        receipt = self._invoke(self.client(self.config.scan_service), "claim_pin", [key, pin.strip(), code.salt, proof or []])
        self.sync(receipt["height"])

    def commit_scans(self, period: str, root: bytes, count: int) -> None:
        """Commit the Merkle root of a period's scan log on chain (signed by the scan service)."""
        self._invoke(self.client(self.config.scan_service), "commit_scans", [period, root, count])

    # -- chain plumbing -----------------------------------------------------------------------------------------------

    def _invoke(self, client: Client, function: str, args: list[Any]) -> dict[str, Any]:
        tx = client.build([InvokeContract(CONTRACT_NAME, function, encode_args(args))])
        self._known_txs[tx.hash.hex()] = [(function, args)]
        return self._settle(client, client.submit([tx], wait_ms=30_000)[0], function)

    @staticmethod
    def _settle(client: Client, result: dict[str, Any], what: str, events: int = 1) -> dict[str, Any]:
        """The committed outcome of a submission, or a TraceError saying why the chain refused it."""
        outcome = result.get("outcome", result)
        if outcome.get("status") == "pending":
            outcome = client.wait(bytes.fromhex(result["tx_hash"]), 30_000)
        receipt = outcome.get("receipt") or {}
        if outcome.get("status") == "committed" and receipt.get("code_name") == "SUCCESS":
            return receipt  # type: ignore[no-any-return]
        message = receipt.get("message") or outcome.get("message") or json.dumps(outcome)[:300]
        failed = receipt.get("failed_operation")
        field_name = "" if events == 1 or failed is None else f"epcisBody.eventList[{failed}]"
        raise TraceError(f"the chain refused to {what}: {_contract_message(message)}", field_name or "request", 409)

    def sync(self, until: int = 0, timeout_s: float = 30.0) -> int:
        """Bring the read model up to the chain head (at least to height `until`) from the contract's events; the
        height reached. The checkpoint only advances over blocks the event feed has delivered, which may trail
        the chain's head by a moment."""
        deadline = time.monotonic() + timeout_s
        with self._sync_lock:
            public = self.client(None)
            while True:
                covered = self.store.checkpoint(SYNC)
                for _, item in public.events(covered + 1, types=("block", "event"), account=f"contract:{CONTRACT_NAME}"):
                    if item.get("type") == "event":
                        self._apply(public, item)
                    covered = max(covered, int(item.get("height", covered)))
                self.store.set_checkpoint(SYNC, covered)
                if covered >= until:
                    self._known_txs.clear()
                    return covered
                if time.monotonic() > deadline:
                    raise TraceError(f"the event feed did not reach block {until} within {timeout_s:.0f} s", "sync", 503)
                time.sleep(0.05)

    def _apply(self, public: Client, item: dict[str, Any]) -> None:
        name, fields, height = item.get("topic", ""), item.get("fields") or {}, int(item["height"])
        tx_hash = item.get("tx_hash", "")
        if name == "ProductRegistered":
            found = public.contract_value(CONTRACT_NAME, "products", fields["gtin"])
            self.store.put(Product(gtin=fields["gtin"], org=fields["org"], name=fields["name"],
                                   prefix=found["prefix"] if found else "", height=height))
        elif name in ("BatchIssued", "BatchRecalled"):
            self._refresh_batch(public, fields["gtin"], fields["lot"], tx_hash if name == "BatchIssued" else None)
        elif name in ("Recorded", "ErrorDeclared"):
            self._ingest(public, fields["event_hash"], fields["org"], height, tx_hash)
        elif name == "PinClaimed":
            self._refresh_items(public, [fields["epc"]], height)

    def _refresh_batch(self, public: Client, gtin: str, lot: str, tx_hash: str | None) -> None:
        found = public.contract_value(CONTRACT_NAME, "batches", [gtin, lot])
        if not found:
            return
        row = self.store.get(Batch, gtin, lot) or Batch(gtin=gtin, lot=lot, tx_hash="")
        row.org, row.count, row.root, row.expiry = found["org"], found["count"], _bytes(found["root"]), found["expiry"]
        row.recalled, row.height, row.status = found["recalled"], found["height"], "committed"
        if tx_hash is not None:
            row.tx_hash = tx_hash
        self.store.put(row)

    def _ingest(self, public: Client, digest: str, org: str, height: int, tx_hash: str) -> None:
        if self.store.get(Event, digest) is not None:
            return
        invocations = self._known_txs.get(tx_hash) or _invocations_of(public, tx_hash)
        for function, args in invocations:
            if args and args[0] == digest:
                document = args[-1]
                facts = args[1] if function == "record" else {}
                corrects = args[1] if function == "declare_error" else ""
                self._store_event(digest, org, height, tx_hash, document, facts, corrects)
                keys = [*facts.get("epcs", []), *facts.get("children", []), *facts.get("inputs", []),
                        *facts.get("outputs", []), *([facts["parent"]] if facts.get("parent") else [])]
                self._refresh_items(public, keys, height)
                return
        log.warning("event %s of tx %s: no invocation found", digest, tx_hash)

    def _store_event(self, digest: str, org: str, height: int, tx_hash: str, document: str, facts: dict[str, Any],
                     corrects: str) -> None:
        raw = json.loads(document)
        roles = [("epc", k) for k in facts.get("epcs", [])] + [("child", k) for k in facts.get("children", [])]
        roles += [("input", k) for k in facts.get("inputs", [])] + [("output", k) for k in facts.get("outputs", [])]
        if facts.get("parent"):
            roles.append(("parent", facts["parent"]))
        self.store.put_event(Event(
            event_hash=digest, org=org, kind=raw.get("type", "ErrorDeclaration" if corrects else ""),
            action=raw.get("action", ""), biz_step=_short(raw.get("bizStep", "")), disposition=_short(raw.get("disposition", "")),
            event_time=_utc_text(raw.get("eventTime", ""), raw.get("eventTimeZoneOffset", "+00:00")),
            read_point=_id_of(raw.get("readPoint")), biz_location=_id_of(raw.get("bizLocation")), document=document,
            height=height, tx_hash=tx_hash, corrects=corrects, corrected_by=""), [(k, r) for r, k in roles])

    def _refresh_items(self, public: Client, keys: Sequence[str], height: int) -> None:
        """Read the touched items' state from the chain; a container's contents (now and before) follow it, since a
        handover or an unpacking changes them without naming them."""
        pending, seen = list(dict.fromkeys(keys)), set()
        while pending:
            key = pending.pop(0)
            if key in seen or key.startswith("lgtin:"):
                continue
            seen.add(key)
            found = public.contract_value(CONTRACT_NAME, "containers" if key.startswith("sscc:") else "items", key)
            if key.startswith("sscc:"):
                pending += [*(found or {}).get("children", []), *self.store.children_of(key)]
            if found:
                self.store.put(Item(key=key, state=found["state"], holder=found["holder"], parent=found.get("parent", ""),
                                    claimed=found.get("claimed", 0), commissioned=bool(found.get("commissioned", False)),
                                    height=height))


def _gtin(text: str) -> str:
    """A GTIN as 14 digits, or a TraceError naming the field."""
    try:
        return Gtin.parse(text).digits
    except IdentifierError as exc:
        raise TraceError(str(exc), exc.field) from None


def _lot(text: str) -> str:
    """A lot number, or a TraceError naming the field."""
    try:
        return parse_lot(text)
    except IdentifierError as exc:
        raise TraceError(str(exc), exc.field) from None


_TREES: dict[tuple[int, str, str], item_codes.BatchTree] = {}
_TREES_LOCK = threading.Lock()


def _tree_cache(store: TraceStore, gtin: str, lot: str) -> item_codes.BatchTree:
    key = (id(store), gtin, lot)
    with _TREES_LOCK:
        found = _TREES.get(key)
    if found is None:
        row = store.get(Tree, gtin, lot)
        if row is None:
            raise TraceError(f"no codes of batch {gtin}/{lot} are held here", "lot", 404)
        found = item_codes.BatchTree.from_bytes(row.data)
        with _TREES_LOCK:
            if len(_TREES) > 64:
                _TREES.pop(next(iter(_TREES)))
            _TREES[key] = found
    return found


def _invocations_of(public: Client, tx_hash: str) -> list[tuple[str, list[Any]]]:
    """The traceability invocations of a committed transaction, from the ledger (its inclusion proof checked)."""
    found = public.transaction(bytes.fromhex(tx_hash))
    out = []
    for op in found.get("operations", []):
        if op.get("type") == "InvokeContract" and op.get("name") == CONTRACT_NAME:
            out.append((op["function"], decode_value(bytes.fromhex(op["args"]))))
    return out


_CONTRACT_PLACE = re.compile(r"^[\w-]+\.\w+: line \d+: ")


def _contract_message(message: str) -> str:
    """A contract failure's message without the contract, function and source line it came from."""
    return _CONTRACT_PLACE.sub("", message)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    return bytes.fromhex(str(value))


def _short(uri: str) -> str:
    """The CBV short name of a bizStep or disposition URI."""
    for marker in ("BizStep-", "Disp-", "urn:epcglobal:cbv:bizstep:", "urn:epcglobal:cbv:disp:"):
        if marker in uri:
            return uri.split(marker, 1)[1]
    return uri


def _id_of(value: Any) -> str:
    return value.get("id", "") if isinstance(value, dict) else ""


def _gln_of_party(uri: str) -> str:
    """The GLN in a party identifier (urn:epc:id:pgln:CP.Ref or a Digital Link with AI 417)."""
    if "/417/" in uri:
        return uri.rsplit("/417/", 1)[1][:13]
    if uri.startswith("urn:epc:id:pgln:"):
        prefix, _, ref = uri[16:].partition(".")
        body = prefix + ref
        return body + str(check_digit(body)) if len(body) == 12 else ""
    return ""


def _utc_text(when: str, offset: str) -> str:
    """An EPCIS timestamp as UTC ISO 8601 with milliseconds (sorts as text)."""
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
