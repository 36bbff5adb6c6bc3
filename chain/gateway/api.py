"""The /v1 API: ledgers, blocks, transactions, state with proofs, identities, contracts and events."""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    request,
    stream_with_context,
)

from chain.codec import encode
from chain.codec.schema import from_cbor
from chain.contracts import ContractError, decode_value, encode_args
from chain.crypto import Address, CryptoError, PublicKey, get_suite
from chain.gateway.auth import Identity, verify_token_request
from chain.gateway.errors import (
    ApiError,
    bad_request,
    forbidden,
    not_found,
    unauthorized,
)
from chain.gateway.jsonio import (
    dataclass_from_json,
    hex_bytes,
    to_json,
    value_from_json,
    value_to_json,
)
from chain.gateway.spec import HEX, NAME, Api, Param
from chain.gateway.storage import storage_key
from chain.ledger import namespaces as ns
from chain.ledger.access import can_read_data_account
from chain.ledger.block import BlockHeader, CommitCertificate
from chain.ledger.model import (
    ContractAccount,
    DataAccount,
    DataEntry,
    EntityState,
    Participant,
    RevokedCertificate,
    TrustedRoots,
    UserRecord,
)
from chain.ledger.operations import OPERATION_CLASSES, InvokeContract, Operation
from chain.ledger.transaction import Transaction, TxContent

blueprint = Blueprint("v1", __name__)
api = Api(blueprint)

LEDGER = Param("ledger", "path", NAME, "ledger name on the nodes")
HEIGHT_Q = Param("height", "query", {"type": "integer", "minimum": 0}, "state after this block (default: latest)", False)
MAX_BATCH = 1_000
MAX_WAIT_MS = 60_000
OPERATIONS = {cls.__name__: cls for cls in OPERATION_CLASSES.values()}


def _gw() -> Any:
    return current_app.extensions["gateway"]


def _call(method: str, **params: Any) -> Any:
    return _gw().nodes.call(method, **params)


def _int_arg(name: str, default: int | None = None, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise bad_request(f"expected an integer {minimum}..{maximum}", name)
    return int(raw)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object", "body")
    return body


def identity(required: bool = False) -> Identity | None:
    """The caller's identity from its bearer token (None if anonymous and not required)."""
    if "identity" in g:
        return g.identity  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    found = None
    if header.startswith("Bearer "):
        found = _gw().tokens.check(header[7:].strip())
    elif header:
        raise unauthorized("use Authorization: Bearer <token>")
    if found is None and required:
        raise unauthorized("this endpoint needs a bearer token (POST /v1/auth/tokens)")
    g.identity = found
    return found


class _Ledger:
    """Facts of one ledger, fetched once per gateway: id, suite, and a state reader through the nodes."""

    def __init__(self, name: str, status: dict[str, Any]) -> None:
        self.name = name
        self.ledger_id: bytes = status["ledger_id"]
        self.suite = get_suite(status["suite"])

    def get(self, key: bytes) -> bytes | None:
        """Latest state value (the StateReader protocol, for permission checks)."""
        return _call("state", ledger=self.name, key=key)["value"]  # type: ignore[no-any-return]


def ledger_of(name: str) -> _Ledger:
    """The ledger named in the path, or 404."""
    cache: dict[str, _Ledger] = _gw().ledgers
    if name not in cache:
        status = next((s for s in _call("status")["ledgers"] if s["name"] == name), None)
        if status is None:
            raise not_found(f"no node hosts a ledger named {name!r}", "ledger")
        cache[name] = _Ledger(name, status)
    return cache[name]


def head_height(name: str) -> int:
    """The ledger's current height (a zero-timeout long poll: cheaper than a full status)."""
    return int(_call("wait_height", ledger=name, height=0, timeout_ms=0)["height"])


def _check_token_ledger(who: Identity | None, name: str) -> None:
    if who is not None and who.ledger != name:
        raise forbidden(f"the token was issued for ledger {who.ledger!r}", "Authorization")


# -- service ---------------------------------------------------------------------------------------------


@api.route("GET", "/health", summary="Gateway liveness and the nodes it reaches", tag="service")
def health() -> Any:
    started = time.monotonic()
    status = _call("status")
    return jsonify({"status": "ok", "ledgers": [s["name"] for s in status["ledgers"]],
                    "node_ms": round((time.monotonic() - started) * 1000, 2)})


TOKEN_BODY = {"type": "object", "required": ["ledger", "public_key", "timestamp_ms", "signature"], "properties": {
    "ledger": NAME, "public_key": HEX, "timestamp_ms": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "signature": HEX}}


@api.route("POST", "/auth/tokens", summary="Trade a signature by a registered user's key for a bearer token", tag="auth",
           body=TOKEN_BODY, statuses=(400, 401, 403, 404))
def issue_token() -> Any:
    body = _json_body()
    name = body.get("ledger")
    if not isinstance(name, str):
        raise bad_request("expected a ledger name", "ledger")
    led = ledger_of(name)
    stamp = body.get("timestamp_ms")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 <= stamp < 2**63:
        raise bad_request("expected milliseconds since 1970", "timestamp_ms")
    for field in ("public_key", "signature"):
        if not isinstance(body.get(field), str):
            raise bad_request("expected a hex string", field)
    address = verify_token_request(body["public_key"], body["signature"], led.ledger_id, stamp, led.suite.hash_algorithm)
    raw = led.get(ns.user_key(address))
    user = None if raw is None else from_cbor(UserRecord, raw)
    if user is None or user.public_key != bytes.fromhex(body["public_key"]):
        raise forbidden("this key is not a registered user of the ledger", "public_key")
    if user.state is not EntityState.NORMAL:
        raise forbidden(f"the user is {user.state.name}", "public_key")
    token, expires = _gw().tokens.issue(address, name)
    return jsonify({"token": token, "address": str(Address.decode(address)), "expires_ms": expires})


# -- ledgers and blocks -----------------------------------------------------------------------------------


@api.route("GET", "/ledgers", summary="Ledgers hosted by the nodes, with height and suite", tag="ledgers")
def ledgers() -> Any:
    return jsonify({"ledgers": [to_json(s) for s in _call("status")["ledgers"]]})


@api.route("GET", "/ledgers/{ledger}", summary="One ledger's status", tag="ledgers", params=[LEDGER])
def ledger_status(ledger: str) -> Any:
    status = next((s for s in _call("status")["ledgers"] if s["name"] == ledger), None)
    if status is None:
        raise not_found(f"no node hosts a ledger named {ledger!r}", "ledger")
    return jsonify(to_json(status))


def _header_view(led: _Ledger, raw: bytes) -> dict[str, Any]:
    header = from_cbor(BlockHeader, raw)
    view = to_json(header)
    view["hash"] = led.suite.digest(raw).hex()
    view["proposer"] = str(Address.decode(header.proposer)) if header.proposer else ""
    return view  # type: ignore[no-any-return]


def block_view(led: _Ledger, block: dict[str, Any]) -> dict[str, Any]:
    """A block as JSON: header fields, transaction hashes and receipts, events, certificate signers."""
    header = _header_view(led, block["header"])
    receipts = [{**to_json({k: v for k, v in r.items() if k != "result"}), "result": _result_json(r.get("result", b""))}
                for r in block["receipts"]]
    certificate = from_cbor(CommitCertificate, block["certificate"])
    return {"header": header, "transactions": [r["tx_hash"] for r in receipts], "receipts": receipts,
            "events": [event_json(e) for e in block.get("events", [])],
            "certificate": {"signers": [str(Address.of(PublicKey.decode(v.public_key), led.suite.hash_algorithm))
                                        for v in certificate.votes]}}


def _result_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return [{"value": value_to_json(v), "gas_used": gas} for v, gas in decode_value(raw)]
    except (ContractError, TypeError, ValueError):
        return {"hex": raw.hex()}


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event as JSON; contract events also get their decoded fields."""
    view = to_json(event)
    view["publisher"] = str(Address.decode(event["publisher"])) if event["publisher"] else ""
    if event["account"].startswith("contract:"):
        try:
            view["fields"] = value_to_json(decode_value(event["content"]))
        except ContractError:
            pass
    return view  # type: ignore[no-any-return]


def cached_block_view(led: _Ledger, height: int) -> dict[str, Any]:
    """A block's JSON view, built once (committed blocks never change)."""
    cache = _gw().blocks
    view = cache.get(("view", led.name, height))
    if view is None:
        view = cache.put(("view", led.name, height), block_view(led, fetch_block(led.name, height)))
    return view  # type: ignore[no-any-return]


IMMUTABLE = "public, max-age=31536000, immutable"


def immutable_json(key: tuple[Any, ...], view: Callable[[], Any], cacheable: bool = True) -> Response:
    """The JSON response of a view that never changes, encoded once (encoding a large block for every request took
    most of a gateway's time); `cacheable`: the URL always names this view, so HTTP caches may keep it."""
    cache = _gw().blocks
    body = cache.get(("json", *key))
    if body is None:
        body = cache.put(("json", *key), f"{current_app.json.dumps(view())}\n".encode())  # as jsonify writes it
    response = current_app.response_class(body, mimetype="application/json")
    if cacheable:
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def fetch_block(name: str, height: int) -> dict[str, Any]:
    """A block from the gateway's cache or a node (committed blocks never change)."""
    cache = _gw().blocks
    key = (name, height)
    block = cache.get(key)
    if block is None:
        block = _call("block", ledger=name, height=height)
        cache.put(key, block)
    return block  # type: ignore[no-any-return]


@api.route("GET", "/ledgers/{ledger}/blocks/{height}", summary="A committed block ('latest' for the head)", tag="ledgers",
           params=[LEDGER, Param("height", "path", {"type": "string", "pattern": "^([0-9]{1,18}|latest)$"})])
def block(ledger: str, height: str) -> Any:
    led = ledger_of(ledger)
    if height == "latest":
        number = head_height(ledger)
    elif height.isdigit() and len(height) <= 18:
        number = int(height)
    else:
        raise bad_request("expected a block height or 'latest'", "height")
    return immutable_json(("block", ledger, number), lambda: cached_block_view(led, number), cacheable=height != "latest")


@api.route("GET", "/ledgers/{ledger}/headers", summary="Headers with commit certificates, for light clients", tag="ledgers",
           params=[LEDGER, Param("first", "query", {"type": "integer", "minimum": 0}),
                   Param("last", "query", {"type": "integer", "minimum": 0})])
def headers(ledger: str) -> Any:
    ledger_of(ledger)
    first, last = _int_arg("first"), _int_arg("last")
    if first is None or last is None or last < first:
        raise bad_request("need first <= last", "last")
    pairs = _call("headers", ledger=ledger, first=first, last=min(last, first + 999))
    return jsonify({"headers": [{"header": h.hex(), "certificate": c.hex()} for h, c in pairs]})


@api.route("GET", "/ledgers/{ledger}/genesis", summary="Block 0 and the genesis validator set, with its state proof",
           tag="ledgers", params=[LEDGER])
def genesis(ledger: str) -> Any:
    ledger_of(ledger)
    header, certificate = _call("headers", ledger=ledger, first=0, last=0)[0]
    found = _call("state", ledger=ledger, key=ns.validators_key(), height=0)
    return jsonify({"header": header.hex(), "certificate": certificate.hex(), "validators": found["value"].hex(),
                    "proof": encode(found["proof"]).hex(), "height": found["height"]})


PUBLIC_NAMESPACES = {n for n in ns.Namespace if n not in (ns.Namespace.DATA_ENTRY, ns.Namespace.EVENT, ns.Namespace.CONTRACT_DATA)}


@api.route("GET", "/ledgers/{ledger}/state/{state_key}",
           summary="A raw state value with its proof (identity, settings, validator and contract records; "
                   "data entries go through /accounts for read permissions)", tag="state",
           params=[LEDGER, Param("state_key", "path", {"type": "string", "pattern": "^([0-9a-f]{2}){1,2048}$"}), HEIGHT_Q],
           statuses=(400, 403, 404))
def raw_state(ledger: str, state_key: str) -> Any:
    ledger_of(ledger)
    key = hex_bytes(state_key, "state_key")
    if not key or key[0] not in PUBLIC_NAMESPACES:
        raise forbidden("this namespace is read through its own endpoint (read permissions apply)", "state_key")
    found = _state(ledger, key, _int_arg("height"))
    found.pop("value")
    return jsonify(found)


@api.route("GET", "/ledgers/{ledger}/validators", summary="The current validator set", tag="identities", params=[LEDGER])
def validators(ledger: str) -> Any:
    ledger_of(ledger)
    pairs = _call("validators", ledger=ledger)
    return jsonify({"validators": [{"address": str(Address.decode(a)), "public_key": k.hex()} for a, k in pairs]})


# -- transactions -------------------------------------------------------------------------------------------


SUBMIT_BODY = {"type": "object", "properties": {
    "transaction": HEX, "transactions": {"type": "array", "items": HEX, "maxItems": MAX_BATCH},
    "wait_ms": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_MS}}}


def _submit(name: str, encoded: list[bytes], wait_ms: int) -> list[dict[str, Any]]:
    verdicts = _gw().submitter(name).submit(encoded)
    out = [to_json(v) for v in verdicts]
    if wait_ms:
        deadline = time.monotonic() + wait_ms / 1000
        for view, verdict in zip(out, verdicts):
            if verdict.get("accepted") and verdict.get("tx_hash"):
                remaining = max(0, int((deadline - time.monotonic()) * 1000))
                view["outcome"] = outcome_json(_call("wait", ledger=name, tx_hash=verdict["tx_hash"], timeout_ms=remaining))
    return out


def outcome_json(outcome: dict[str, Any]) -> dict[str, Any]:
    """A transaction outcome with its receipt's contract results decoded."""
    view = to_json({k: v for k, v in outcome.items() if k != "receipt"})
    if "receipt" in outcome:
        receipt = outcome["receipt"]
        view["receipt"] = {**to_json({k: v for k, v in receipt.items() if k != "result"}),
                           "result": _result_json(receipt.get("result", b""))}
    return view  # type: ignore[no-any-return]


@api.route("POST", "/ledgers/{ledger}/transactions", summary="Submit client-signed transactions (one or a batch)",
           tag="transactions", params=[LEDGER], body=SUBMIT_BODY)
def submit(ledger: str) -> Any:
    ledger_of(ledger)
    body = _json_body()
    if ("transaction" in body) == ("transactions" in body):
        raise bad_request("give 'transaction' or 'transactions'", "transactions")
    items = [body["transaction"]] if "transaction" in body else body["transactions"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise bad_request(f"expected 1..{MAX_BATCH} transactions", "transactions")
    encoded = [hex_bytes(t, f"transactions[{i}]") for i, t in enumerate(items)]
    wait_ms = _body_int(body, "wait_ms", 0, MAX_WAIT_MS)
    return jsonify({"results": _submit(ledger, encoded, wait_ms)})


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdef" for c in text)


def operations_from_json(items: Any) -> list[Operation]:
    """Operations from [{"type": "WriteKV", "account": ..., ...}, ...] (bytes fields as hex)."""
    if not isinstance(items, list) or not 1 <= len(items) <= 256:
        raise bad_request("expected 1..256 operations", "operations")
    ops = []
    for i, item in enumerate(items):
        where = f"operations[{i}]"
        if not isinstance(item, dict) or item.get("type") not in OPERATIONS:
            raise bad_request(f"'type' must be one of {', '.join(OPERATIONS)}", f"{where}.type")
        address = item.get("address")
        if isinstance(address, str) and not _is_hex(address):
            try:
                item = {**item, "address": Address.parse(address).encode().hex()}
            except (CryptoError, ValueError):
                raise bad_request("not an address (Base58Check text or hex)", f"{where}.address") from None
        ops.append(dataclass_from_json(OPERATIONS[item["type"]], item, where))
    return ops


CUSTODIAL_BODY = {"type": "object", "required": ["operations"], "properties": {
    "operations": {"type": "array", "minItems": 1, "maxItems": 256, "items": {"type": "object", "required": ["type"]}},
    "wait_ms": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_MS}}}


def _custodial_tx(name: str, ops: list[Operation]) -> Transaction:
    who = identity(required=True)
    assert who is not None
    _check_token_ledger(who, name)
    led = ledger_of(name)
    key = _gw().custody.key_for(who.address, led.suite)
    if key is None:
        raise forbidden("the gateway holds no key for this identity; sign the transaction yourself", "Authorization")
    height = head_height(name)
    content = TxContent(led.ledger_id, _gw().nonce(), height + 100, tuple(ops))
    return Transaction.create(led.suite, content, [key])


@api.route("POST", "/ledgers/{ledger}/transactions/custodial", summary="Build and sign with the caller's custodied key, then submit",
           tag="transactions", params=[LEDGER], body=CUSTODIAL_BODY, auth=True, statuses=(400, 403, 404))
def submit_custodial(ledger: str) -> Any:
    identity(required=True)
    body = _json_body()
    ops = operations_from_json(body.get("operations"))
    wait_ms = _body_int(body, "wait_ms", 0, MAX_WAIT_MS)
    tx = _custodial_tx(ledger, ops)
    return jsonify({"tx_hash": tx.hash.hex(), **_submit(ledger, [tx.encode()], wait_ms)[0]})


TX_HASH = Param("tx_hash", "path", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "transaction hash (hex)")


@api.route("GET", "/ledgers/{ledger}/transactions/{tx_hash}", summary="A committed transaction, its receipt and inclusion proof",
           tag="transactions", params=[LEDGER, TX_HASH])
def transaction(ledger: str, tx_hash: str) -> Any:
    led = ledger_of(ledger)
    raw_hash = hex_bytes(tx_hash, "tx_hash", 32)
    # a committed transaction, its receipt and proofs never change
    return immutable_json(("tx", ledger, raw_hash), lambda: _transaction_view(led, ledger, raw_hash))


def _transaction_view(led: _Ledger, ledger: str, raw_hash: bytes) -> dict[str, Any]:
    found = _call("transaction", ledger=ledger, tx_hash=raw_hash)
    tx = Transaction.decode(led.suite, found["transaction"], 1 << 24)
    ops = [operation_json(op) for op in tx.content.operations]
    signers = [str(Address.of(PublicKey.decode(e.public_key), led.suite.hash_algorithm)) for e in tx.endorsements]
    receipt = found["receipt"]
    return {"height": found["height"], "index": found["index"], "tx_hash": tx.hash.hex(),
            "encoded": found["transaction"].hex(), "nonce": tx.content.nonce.hex(),
            "expiry_height": tx.content.expiry_height, "operations": ops, "signers": signers,
            "receipt": {**to_json({k: v for k, v in receipt.items() if k != "result"}),
                        "result": _result_json(receipt.get("result", b""))},
            "proof": encode(found["proof"]).hex(), "receipt_encoded": found["receipt_encoded"].hex(),
            "receipt_proof": encode(found["receipt_proof"]).hex()}


def operation_json(op: Operation) -> dict[str, Any]:
    """An operation as JSON: its type name and fields; `address` fields in their Base58Check text form."""
    view: dict[str, Any] = {"type": type(op).__name__, **to_json(op)}
    address = getattr(op, "address", None)
    if isinstance(address, bytes):
        try:
            view["address"] = str(Address.decode(address))
        except CryptoError:
            pass
    return view


@api.route("GET", "/ledgers/{ledger}/transactions/{tx_hash}/outcome",
           summary="Committed, rejected or pending; wait_ms waits for commit", tag="transactions",
           params=[LEDGER, TX_HASH, Param("wait_ms", "query", {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_MS},
                                          "wait up to this long for the outcome", False)])
def outcome(ledger: str, tx_hash: str) -> Any:
    ledger_of(ledger)
    raw = hex_bytes(tx_hash, "tx_hash", 32)
    wait_ms = _int_arg("wait_ms", 0, 0, MAX_WAIT_MS) or 0
    found = _call("wait", ledger=ledger, tx_hash=raw, timeout_ms=wait_ms) if wait_ms else _call("outcome", ledger=ledger, tx_hash=raw)
    return jsonify(outcome_json(found))


# -- state ---------------------------------------------------------------------------------------------------


def _state(ledger_name: str, key: bytes, height: int | None) -> dict[str, Any]:
    found = _call("state", ledger=ledger_name, key=key, height=height)
    return {"height": found["height"], "state_key": key.hex(),
            "raw": None if found["value"] is None else found["value"].hex(), "proof": encode(found["proof"]).hex(),
            "value": found["value"]}


def _data_account(led: _Ledger, account: str) -> DataAccount:
    """A data account record; cached once found, since nothing changes a data account after it is registered."""
    cache: dict[tuple[str, str], DataAccount] = _gw().accounts
    record = cache.get((led.name, account))
    if record is None:
        raw = led.get(ns.data_account_key(account))
        if raw is None:
            raise not_found(f"data account {account!r} does not exist", "account")
        record = cache[(led.name, account)] = from_cbor(DataAccount, raw)
    return record


def _readable(led: _Ledger, account: str) -> DataAccount:
    record = _data_account(led, account)
    who = identity()
    _check_token_ledger(who, led.name)
    if record.readers and not can_read_data_account(led, account, None if who is None else who.address):
        raise (unauthorized if who is None else forbidden)(f"data account {account!r} is readable only by its owners and "
                                                           f"the roles {', '.join(record.readers)}")
    return record


ACCOUNT = Param("account", "path", NAME, "data account name")
KEY = Param("key", "path", {"type": "string", "minLength": 1, "maxLength": 1024}, "key in the account (may contain /)",
            greedy=True)


@api.route("GET", "/ledgers/{ledger}/accounts/{account}", summary="A data account", tag="state", params=[LEDGER, ACCOUNT],
           statuses=(400, 401, 403, 404))
def data_account(ledger: str, account: str) -> Any:
    record = _readable(ledger_of(ledger), account)
    return jsonify({"name": record.name, "owners": [str(Address.decode(o)) for o in record.owners],
                    "readers": list(record.readers), "created_height": record.created_height})


@api.route("GET", "/ledgers/{ledger}/accounts/{account}/entries/{key}",
           summary="A key's value and version with a state proof (at a height, default latest)", tag="state",
           params=[LEDGER, ACCOUNT, KEY, HEIGHT_Q], statuses=(400, 401, 403, 404))
def data_entry(ledger: str, account: str, key: str) -> Any:
    led = ledger_of(ledger)
    _readable(led, account)
    if len(key.encode("utf-8")) > 1024:
        raise bad_request("keys are at most 1024 bytes", "key")
    found = _state(ledger, ns.data_entry_key(account, key), _int_arg("height"))
    raw = found.pop("value")
    entry = None if raw is None else from_cbor(DataEntry, raw)
    found["entry"] = None if entry is None else {
        "value": entry.value.hex(), "text": _text(entry.value), "version": entry.version,
        "writer": str(Address.decode(entry.writer)) if entry.writer else "", "height": entry.height,
        "tx_hash": entry.tx_hash.hex()}
    return jsonify(found)


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@api.route("GET", "/ledgers/{ledger}/accounts/{account}/entries/{key}/history", summary="Every version of a key",
           tag="state", params=[LEDGER, ACCOUNT, KEY], statuses=(400, 401, 403, 404))
def data_history(ledger: str, account: str, key: str) -> Any:
    led = ledger_of(ledger)
    _readable(led, account)
    if len(key.encode("utf-8")) > 1024:
        raise bad_request("keys are at most 1024 bytes", "key")
    versions = []
    for height, raw in _call("history", ledger=ledger, key=ns.data_entry_key(account, key)):
        entry = None if raw is None else from_cbor(DataEntry, raw)
        versions.append({"height": height, "deleted": entry is None,
                         **({} if entry is None else {"value": entry.value.hex(), "text": _text(entry.value),
                                                      "version": entry.version, "tx_hash": entry.tx_hash.hex()})})
    return jsonify({"history": versions})


# -- identities ----------------------------------------------------------------------------------------------


@api.route("GET", "/ledgers/{ledger}/users/{address}", summary="A registered user", tag="identities",
           params=[LEDGER, Param("address", "path", {"type": "string", "minLength": 1, "maxLength": 100})])
def user(ledger: str, address: str) -> Any:
    led = ledger_of(ledger)
    try:
        raw_address = Address.parse(address).encode()
    except (CryptoError, ValueError):
        raise bad_request("not an address", "address") from None
    raw = led.get(ns.user_key(raw_address))
    if raw is None:
        raise not_found(f"no user {address}", "address")
    record = from_cbor(UserRecord, raw)
    facts = record.facts
    revoked = led.get(ns.revoked_certificate_key(facts.issuer_fingerprint, facts.serial)) is not None
    return jsonify({"address": address, "participant": record.participant, "roles": list(record.roles),
                    "policy": record.policy.name, "state": record.state.name, "public_key": record.public_key.hex(),
                    "certificate": record.certificate.hex(), "issuer_fingerprint": facts.issuer_fingerprint.hex(),
                    "serial": facts.serial.hex(), "certificate_revoked": revoked})


@api.route("GET", "/ledgers/{ledger}/participants/{name}", summary="A member organisation", tag="identities",
           params=[LEDGER, Param("name", "path", NAME)])
def participant(ledger: str, name: str) -> Any:
    raw = ledger_of(ledger).get(ns.participant_key(name))
    if raw is None:
        raise not_found(f"no participant {name!r}", "name")
    record = from_cbor(Participant, raw)
    return jsonify({"name": record.name, "state": record.state.name, "ca_certificate": record.ca_certificate.hex()})


LIST_PARAMS = [Param("after", "query", {"type": "string", "pattern": "^([0-9a-f]{2}){1,2048}$"},
                     "the 'next' cursor of the previous page", False),
               Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "items per page (default 100)", False)]


def _page(ledger_name: str, namespace: ns.Namespace, view: Any) -> Any:
    """One page of a namespace's records, in key order, with the cursor of the next page."""
    ledger_of(ledger_name)
    prefix = bytes([namespace])
    after = request.args.get("after")
    cursor = None if after is None else hex_bytes(after, "after")
    if cursor is not None and not cursor.startswith(prefix):
        raise bad_request("not a cursor of this list", "after")
    limit = _int_arg("limit", 100, 1, 1000) or 100
    pairs = _call("scan", ledger=ledger_name, prefix=prefix, after=cursor, limit=limit)
    return jsonify({"items": [view(value) for _, value in pairs],
                    "next": pairs[-1][0].hex() if len(pairs) == limit else None})


def _user_view(raw: bytes) -> dict[str, Any]:
    record = from_cbor(UserRecord, raw)
    return {"address": str(Address.decode(record.address)), "participant": record.participant, "roles": list(record.roles),
            "state": record.state.name}


def _participant_view(raw: bytes) -> dict[str, Any]:
    record = from_cbor(Participant, raw)
    return {"name": record.name, "state": record.state.name}


def _contract_view(raw: bytes) -> dict[str, Any]:
    record = from_cbor(ContractAccount, raw)
    return {"name": record.name, "version": record.version, "code_hash": record.code_hash.hex(), "state": record.state.name}


def _revoked_view(raw: bytes) -> dict[str, Any]:
    record = from_cbor(RevokedCertificate, raw)
    return {"issuer_fingerprint": record.issuer_fingerprint.hex(), "serial": record.serial.hex(), "reason": record.reason,
            "height": record.height}


@api.route("GET", "/ledgers/{ledger}/users", summary="Registered users, a page at a time", tag="identities",
           params=[LEDGER, *LIST_PARAMS])
def users(ledger: str) -> Any:
    return _page(ledger, ns.Namespace.USER, _user_view)


@api.route("GET", "/ledgers/{ledger}/participants", summary="Member organisations, a page at a time", tag="identities",
           params=[LEDGER, *LIST_PARAMS])
def participants(ledger: str) -> Any:
    return _page(ledger, ns.Namespace.PARTICIPANT, _participant_view)


@api.route("GET", "/ledgers/{ledger}/contracts", summary="Deployed contracts, a page at a time", tag="contracts",
           params=[LEDGER, *LIST_PARAMS])
def contracts(ledger: str) -> Any:
    return _page(ledger, ns.Namespace.CONTRACT, _contract_view)


@api.route("GET", "/ledgers/{ledger}/certificates/revoked", summary="The certificate revocation list, a page at a time",
           tag="identities", params=[LEDGER, *LIST_PARAMS])
def revocations(ledger: str) -> Any:
    return _page(ledger, ns.Namespace.REVOKED_CERTIFICATE, _revoked_view)


@api.route("GET", "/ledgers/{ledger}/certificates/roots", summary="Trusted root CA certificates (DER, hex)",
           tag="identities", params=[LEDGER])
def roots(ledger: str) -> Any:
    raw = ledger_of(ledger).get(ns.trusted_roots_key())
    certs = [] if raw is None else list(from_cbor(TrustedRoots, raw).certificates)
    return jsonify({"certificates": [c.hex() for c in certs]})


@api.route("GET", "/ledgers/{ledger}/certificates/revoked/{issuer}/{serial}",
           summary="Whether a certificate is revoked (issuer fingerprint and serial, hex)", tag="identities",
           params=[LEDGER, Param("issuer", "path", HEX), Param("serial", "path", {"type": "string", "pattern": "^[0-9a-f]{40}$"})])
def revoked(ledger: str, issuer: str, serial: str) -> Any:
    led = ledger_of(ledger)
    raw = led.get(ns.revoked_certificate_key(hex_bytes(issuer, "issuer"), hex_bytes(serial, "serial", 20)))
    if raw is None:
        return jsonify({"revoked": False})
    record = from_cbor(RevokedCertificate, raw)
    return jsonify({"revoked": True, "reason": record.reason, "height": record.height})


# -- contracts -------------------------------------------------------------------------------------------------


CONTRACT = Param("name", "path", NAME, "contract name")


@api.route("GET", "/ledgers/{ledger}/contracts/{name}", summary="A contract: record, ABI and IR of a version",
           tag="contracts", params=[LEDGER, CONTRACT, Param("version", "query", {"type": "integer", "minimum": 0}, "", False)])
def contract(ledger: str, name: str) -> Any:
    ledger_of(ledger)
    info = _call("contract", ledger=ledger, name=name, version=_int_arg("version"))
    return jsonify({**to_json({k: v for k, v in info.items() if k not in ("code", "abi", "owners")}),
                    "owners": [str(Address.decode(o)) for o in info["owners"]],
                    "abi": value_to_json(decode_value(info["abi"])), "ir": info["code"].decode("utf-8")})


MAP = Param("map", "path", {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$"},
            "storage map name, as the contract declares it (`items = Map(\"items\")` declares items)")
MAX_KEY_JSON = 4096
MAP_KEY_Q = Param("key", "query", {"type": "string", "minLength": 1, "maxLength": MAX_KEY_JSON},
                  'the map key as a JSON contract value: "sgtin:1", ["gtin", "lot"] for a tuple, {"hex": ...} for bytes')
NULLABLE_HEX = {"type": ["string", "null"], "pattern": "^([0-9a-f]{2})*$"}
STORAGE_RESPONSE = {"type": "object", "required": ["height", "state_key", "raw", "value", "proof", "contract", "map", "key"],
                    "properties": {"height": {"type": "integer", "minimum": 0}, "state_key": HEX, "raw": NULLABLE_HEX,
                                   "value": {}, "proof": HEX, "contract": {"type": "string"}, "map": {"type": "string"},
                                   "key": {}}}


@api.route("GET", "/ledgers/{ledger}/contracts/{name}/storage/{map}",
           summary="A contract storage map entry (key: a JSON contract value) with a state proof (at a height, default latest)",
           tag="contracts", response=STORAGE_RESPONSE,
           params=[LEDGER, CONTRACT, MAP, MAP_KEY_Q, HEIGHT_Q,
                   Param("version", "query", {"type": "integer", "minimum": 0}, "the version whose maps to look in "
                         "(default: the current one)", False)])
def contract_storage(ledger: str, name: str, map: str) -> Any:
    ledger_of(ledger)
    key = _map_key_arg()
    height = _int_arg("height")
    prefix = _map_prefix(ledger, name, map, _int_arg("version"))
    try:
        state_key = storage_key(name, prefix, key)
    except ContractError as exc:
        raise bad_request(f"not a map key: {exc}", "key") from None
    found = _state(ledger, state_key, height)
    raw = found.pop("value")
    found["value"] = None if raw is None else value_to_json(decode_value(raw))
    return jsonify({**found, "contract": name, "map": map, "key": value_to_json(key)})


def _map_key_arg() -> Any:
    """The `key` query parameter: a JSON contract value, or a 400 naming it."""
    text = request.args.get("key")
    if not text or len(text) > MAX_KEY_JSON:
        raise bad_request(f'give the map key as JSON of at most {MAX_KEY_JSON} characters: key="sgtin:1", '
                          'key=["gtin", "lot"] for a tuple, key={"hex": "00ff"} for bytes', "key")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        raise bad_request('not JSON (a str key is quoted: key="sgtin:1")', "key") from None
    return value_from_json(parsed, "key")


def _map_prefix(ledger_name: str, name: str, map_name: str, version: int | None) -> str:
    """The prefix a contract version (default: the current) declares for a map, or a 404 naming what is missing."""
    try:
        info = _call("contract", ledger=ledger_name, name=name, version=version)
    except ApiError as exc:
        if exc.status != 404:
            raise
        missing = "name" if version is None or ledger_of(ledger_name).get(ns.contract_key(name)) is None else "version"
        raise not_found(exc.message, missing) from None
    storage = decode_value(info["abi"])["storage"]
    if map_name not in storage:
        raise not_found(f"contract {name!r} version {info['shown_version']} declares no storage map {map_name!r}", "map")
    return storage[map_name]  # type: ignore[no-any-return]


DRY_RUN_BODY = {"type": "object", "properties": {
    "transaction": HEX, "function": {"type": "string", "minLength": 1, "maxLength": 128}, "args": {"type": "array"},
    "gas_limit": {"type": "integer", "minimum": 1, "maximum": 10**9}, "version": {"type": "integer", "minimum": 0, "maximum": 2**31}}}


def _body_int(body: dict[str, Any], field: str, default: int | None, top: int) -> Any:
    """An optional integer 0..top of a JSON body, or a 400 naming it."""
    value = body.get(field, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top):
        raise bad_request(f"expected an integer 0..{top}", field)
    return value


def _invocation(body: dict[str, Any], contract: str, missing_function: str) -> InvokeContract:
    """The InvokeContract a JSON body describes: function name and arguments (contract values)."""
    function, args = body.get("function"), body.get("args", [])
    if not isinstance(function, str) or not function:
        raise bad_request(missing_function, "function")
    if not isinstance(args, list):
        raise bad_request("expected an array", "args")
    try:
        return InvokeContract(contract, function, encode_args([value_from_json(a, f"args[{i}]") for i, a in enumerate(args)]))
    except ContractError as exc:
        raise bad_request(str(exc), "args") from None


def _dry_run(ledger_name: str, name: str, trace: bool) -> Any:
    ledger_of(ledger_name)
    body = _json_body()
    if "transaction" in body:
        tx = hex_bytes(body["transaction"], "transaction")
    else:
        invocation = _invocation(body, name, "give a signed 'transaction' or a 'function' (signed with your custodied key)")
        tx = _custodial_tx(ledger_name, [invocation]).encode()
    _body_int(body, "gas_limit", None, 10**9)
    _body_int(body, "version", None, 2**31)
    reports = _call("simulate", ledger=ledger_name, transaction=tx, trace=trace, gas_limit=body.get("gas_limit"),
                    version=body.get("version"))
    out = []
    for report in reports:
        view = {k: v for k, v in report.items() if k not in ("value", "events", "reads", "writes", "steps")}
        for field in ("value", "events", "reads", "writes"):
            view[field] = value_to_json(decode_value(report[field]))
        if trace:
            view["steps"] = [{"contract": c, "function": f, "line": line, "gas": gas, "locals": value_to_json(decode_value(loc))}
                             for c, f, line, gas, loc in report["steps"]]
        out.append(view)
    return jsonify({"invocations": out})


@api.route("POST", "/ledgers/{ledger}/contracts/{name}/simulate",
           summary="Dry-run invocations on the latest state: value, events, read/write set, gas", tag="contracts",
           params=[LEDGER, CONTRACT], body=DRY_RUN_BODY, statuses=(400, 401, 403, 404))
def simulate(ledger: str, name: str) -> Any:
    return _dry_run(ledger, name, False)


@api.route("POST", "/ledgers/{ledger}/contracts/{name}/trace",
           summary="Dry run with a step trace: source line, gas and locals per statement", tag="contracts",
           params=[LEDGER, CONTRACT], body=DRY_RUN_BODY, statuses=(400, 401, 403, 404))
def trace(ledger: str, name: str) -> Any:
    return _dry_run(ledger, name, True)


INVOKE_BODY = {"type": "object", "required": ["function"], "properties": {
    "function": {"type": "string", "minLength": 1, "maxLength": 128}, "args": {"type": "array"},
    "wait_ms": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_MS}}}


@api.route("POST", "/ledgers/{ledger}/contracts/{name}/invoke", summary="Invoke with the caller's custodied key",
           tag="contracts", params=[LEDGER, CONTRACT], body=INVOKE_BODY, auth=True, statuses=(400, 403, 404))
def invoke(ledger: str, name: str) -> Any:
    identity(required=True)
    body = _json_body()
    invocation = _invocation(body, name, "expected a function name")
    wait_ms = _body_int(body, "wait_ms", 10_000, MAX_WAIT_MS)
    tx = _custodial_tx(ledger, [invocation])
    return jsonify({"tx_hash": tx.hash.hex(), **_submit(ledger, [tx.encode()], wait_ms)[0]})


# -- events -----------------------------------------------------------------------------------------------------


@api.route("GET", "/ledgers/{ledger}/events", summary="Server-sent events: blocks, transactions and ledger/contract events",
           tag="events", streaming=True,
           params=[LEDGER,
                   Param("types", "query", {"type": "string", "pattern": "^(block|transaction|event)(,(block|transaction|event))*$"},
                         "comma-separated item types (default all)", False),
                   Param("account", "query", NAME, "only events of this event account (contract:<name> for a contract)", False),
                   Param("topic", "query", NAME, "only events of this topic", False),
                   Param("from_height", "query", {"type": "integer", "minimum": 0},
                         "replay from this height (default: the next block; Last-Event-ID resumes exactly)", False),
                   Param("once", "query", {"type": "string", "enum": ["0", "1"]},
                         "1: end the stream after the committed history instead of waiting for new blocks", False)])
def events(ledger: str) -> Any:
    ledger_of(ledger)
    feed = _gw().feed(ledger)
    types_arg = request.args.get("types", "block,transaction,event")
    types = set(types_arg.split(","))
    if not types <= {"block", "transaction", "event"}:
        raise bad_request("types are block, transaction and event", "types")
    resume = feed.resume_point(request.headers.get("Last-Event-ID"), _int_arg("from_height"))
    stream = feed.stream(resume, types, request.args.get("account"), request.args.get("topic"),
                         once=request.args.get("once") == "1")
    return Response(stream_with_context(stream), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

