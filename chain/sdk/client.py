"""The Python SDK: build, sign, submit and wait; read state with proofs checked locally; subscribe to events.

Everything goes through a gateway's /v1 API over HTTP (keep-alive). Proofs
are checked by a light client that trusts only the ledger id (the genesis
header hash) and follows certified validator-set changes header by header.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import quote

import requests

from chain.codec import CodecError, decode
from chain.codec.schema import from_cbor, to_cbor
from chain.contracts import ContractError, decode_value, encode_args, encode_value
from chain.crypto import Address, CryptoError, CryptoSuite, PrivateKey, PublicKey, get_suite
from chain.gateway.auth import token_message
from chain.gateway.jsonio import value_to_json
from chain.gateway.storage import storage_key
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.light_client import LightClient
from chain.ledger.merkle import ListProof
from chain.ledger.model import DataEntry
from chain.ledger.operations import InvokeContract, Operation
from chain.ledger.smt import PLACEHOLDER, ProofError, SparseMerkleProof
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction, TxContent
from chain.sdk.errors import ApiError, ProofFailed, Unreachable


@dataclass(frozen=True)
class Entry:
    """A data account value, proven against a certified header."""

    account: str
    key: str
    value: bytes | None
    version: int | None
    height: int
    verified: bool


_UNSET: Any = object()


@dataclass(frozen=True)
class ProofReport:
    """One light-client check spelled out step by step, for explorers and audits.

    Nothing but `ledger_id` (the genesis header hash) is trusted up front: the
    genesis header must hash to it, and every header up to `height` must carry a
    commit certificate signed by a quorum of the validators of its height.  The
    proof is then checked against the `root_name` root of the trusted header at
    `height`.  `verified` is the verdict; when False, `step` names the check that
    failed and `reason`/`code` say why (the facts of the steps before it stay filled).
    For state proofs, `value` is what was checked (an entry's bytes, or the decoded
    value of a contract's storage; None for absence) and `raw` the state record
    itself (None for absence, so a stored None differs from a missing key).
    """

    kind: str
    subject: str
    ledger_id: bytes
    height: int
    verified: bool
    step: str = ""
    reason: str = ""
    code: str = ""
    genesis_checked_now: bool = False
    headers_checked_now: int = 0
    headers_trusted: int = 0
    validators: tuple[str, ...] = ()
    validator_count: int = 0
    quorum: int = 0
    root_name: str = ""
    root: bytes = b""
    siblings: int = 0
    nonempty_siblings: int = 0
    value: Any = None
    claimed: bool = False
    raw: bytes | None = None


class Client:
    """One ledger through one gateway; `key` signs transactions and logs in for permission-checked reads."""

    def __init__(self, base_url: str, ledger: str = "main", key: PrivateKey | None = None, ledger_id: bytes | None = None,
                 timeout_s: float = 70.0) -> None:
        self.base = base_url.rstrip("/") + "/v1"
        self.ledger = ledger
        self.key = key
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self._token: tuple[str, int] | None = None
        status = self.status()
        self.suite: CryptoSuite = get_suite(status["suite"])
        self.ledger_id = bytes.fromhex(status["ledger_id"])
        if ledger_id is not None and ledger_id != self.ledger_id:
            raise ProofFailed("the gateway serves another ledger than the one this client trusts", "wrong_ledger")
        self._light: LightClient | None = None
        self._storage_maps: dict[str, dict[str, str]] = {}

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        try:
            response = self.http.request(method, self.base + path, headers=headers, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise Unreachable(f"cannot reach the gateway at {self.base}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise ApiError(response.status_code, "bad_response", response.text[:200]) from None
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise ApiError(response.status_code, error.get("code", "error"), error.get("message", ""), error.get("field"))
        return body

    def _ledger_path(self, path: str) -> str:
        return f"/ledgers/{self.ledger}{path}"

    def token(self) -> str:
        """A bearer token for this client's key (fetched once, renewed before it expires)."""
        if self.key is None:
            raise ValueError("this client has no key to log in with")
        if self._token is None or self._token[1] - 60_000 < time.time() * 1000:
            stamp = int(time.time() * 1000)
            signature = self.key.sign(token_message(self.ledger_id, stamp))
            body = self._request("POST", "/auth/tokens", json={
                "ledger": self.ledger, "public_key": self.key.public_key().encode().hex(), "timestamp_ms": stamp,
                "signature": signature.encode().hex()})
            self._token = (body["token"], body["expires_ms"])
        return self._token[0]

    # -- reads ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Height, suite, ledger id and consensus facts."""
        return self._request("GET", self._ledger_path(""))  # type: ignore[no-any-return]

    def block(self, height: int | str = "latest") -> dict[str, Any]:
        """A committed block as JSON."""
        return self._request("GET", self._ledger_path(f"/blocks/{height}"))  # type: ignore[no-any-return]

    def transaction(self, tx_hash: bytes, verify: bool = True) -> dict[str, Any]:
        """A committed transaction with its receipt; its inclusion proof checked against a certified header."""
        found = self._request("GET", self._ledger_path(f"/transactions/{tx_hash.hex()}"))
        if verify:
            height = found["height"]
            light = self.light_client(height)
            try:
                light.verify_transaction(height, tx_hash, ListProof.from_value(decode(bytes.fromhex(found["proof"]))))
                encoded = bytes.fromhex(found["receipt_encoded"])
                light.verify_receipt(height, encoded, ListProof.from_value(decode(bytes.fromhex(found["receipt_proof"]))))
            except ProofError as exc:
                raise ProofFailed(str(exc), exc.code) from None
            receipt = from_cbor(Receipt, encoded)
            shown = found["receipt"]
            if (receipt.tx_hash != tx_hash or receipt.code != shown["code"] or receipt.message != shown["message"]
                    or receipt.index != found["index"]):
                raise ProofFailed("the receipt the gateway showed differs from the proven one", "receipt_mismatch")
            found["verified"] = True
        return found  # type: ignore[no-any-return]

    def entry(self, account: str, key: str, height: int | None = None, verify: bool = True) -> Entry:
        """A data account value (None if absent), proven unless verify=False; logs in if the client has a key."""
        query = {} if height is None else {"height": height}
        found = self._request("GET", self._ledger_path(f"/accounts/{account}/entries/{requests.utils.quote(key, safe='')}"),
                              params=query, auth=self.key is not None)
        raw = None if found["raw"] is None else bytes.fromhex(found["raw"])
        if verify:
            state_key = ns.data_entry_key(account, key)
            if bytes.fromhex(found["state_key"]) != state_key:
                raise ProofFailed("the gateway proved another key", "wrong_key")
            self._verify_state(found["height"], state_key, raw, found["proof"])
        entry = found["entry"]
        return Entry(account, key, None if entry is None else bytes.fromhex(entry["value"]),
                     None if entry is None else entry["version"], found["height"], verify)

    def _verify_state(self, height: int, state_key: bytes, raw: bytes | None, proof_hex: str) -> None:
        light = self.light_client(height)
        try:
            light.verify_state(height, state_key, raw, SparseMerkleProof.from_cbor(decode(bytes.fromhex(proof_hex))))
        except ProofError as exc:
            raise ProofFailed(str(exc), exc.code) from None

    # -- light client -------------------------------------------------------------------------

    def light_client(self, height: int) -> LightClient:
        """The light client, advanced (certificates checked header by header) to trust `height`."""
        try:
            return self._advance(height)
        except ProofError as exc:
            raise ProofFailed(str(exc), exc.code) from None

    def _advance(self, height: int) -> LightClient:
        if self._light is None:
            genesis = self._request("GET", self._ledger_path("/genesis"))
            header = from_cbor(BlockHeader, bytes.fromhex(genesis["header"]))
            validators = from_cbor(ValidatorSet, bytes.fromhex(genesis["validators"]))
            light = LightClient(self.suite, self.ledger_id, validators)
            light.accept_genesis(header, from_cbor(CommitCertificate, bytes.fromhex(genesis["certificate"])))
            light.verify_state(0, ns.validators_key(), bytes.fromhex(genesis["validators"]),
                               SparseMerkleProof.from_cbor(decode(bytes.fromhex(genesis["proof"]))))
            self._light = light
        light = self._light
        top = max(light.trusted)
        while top < height:
            batch = self._request("GET", self._ledger_path("/headers"), params={"first": top + 1, "last": height})["headers"]
            if not batch:
                raise ProofFailed(f"the gateway has no header {top + 1}", "missing_header")
            for item in batch:
                header = from_cbor(BlockHeader, bytes.fromhex(item["header"]))
                certificate = from_cbor(CommitCertificate, bytes.fromhex(item["certificate"]))
                changed = None
                if header.validators_hash != light.validators.hash(self.suite):
                    changed = self._validators_after(header.height - 1)
                light.accept(header, certificate, changed)
            top = max(light.trusted)
        return light

    def _validators_after(self, height: int) -> ValidatorSet:
        """The validator set stored by block `height` (proven against that trusted header)."""
        key = ns.validators_key()
        found = self._request("GET", self._ledger_path(f"/state/{key.hex()}"), params={"height": height})
        raw = bytes.fromhex(found["raw"])
        assert self._light is not None
        self._light.verify_state(found["height"], key, raw, SparseMerkleProof.from_cbor(decode(bytes.fromhex(found["proof"]))))
        return from_cbor(ValidatorSet, raw)

    # -- more reads (explorers, consoles) ---------------------------------------------------------

    def account(self, name: str) -> dict[str, Any]:
        """A data account: owners, reader roles, creation height (logs in if the client has a key)."""
        return self._request("GET", self._ledger_path(f"/accounts/{_segment(name)}"),  # type: ignore[no-any-return]
                             auth=self.key is not None)

    def entry_record(self, account: str, key: str, height: int | None = None) -> dict[str, Any]:
        """A key's record as the gateway serves it (value, version, writer, height, tx hash; `entry` None if absent),
        unverified: use `entry` or `prove_entry` for a checked value."""
        query = {} if height is None else {"height": height}
        return self._request("GET", self._ledger_path(f"/accounts/{_segment(account)}/entries/{_segment(key)}"),  # type: ignore[no-any-return]
                             params=query, auth=self.key is not None)

    def history(self, account: str, key: str) -> list[dict[str, Any]]:
        """Every version of a key, oldest first (deletions included)."""
        path = self._ledger_path(f"/accounts/{_segment(account)}/entries/{_segment(key)}/history")
        return self._request("GET", path, auth=self.key is not None)["history"]  # type: ignore[no-any-return]

    def validators(self) -> list[dict[str, Any]]:
        """The current validator set: address and public key of each."""
        return self._request("GET", self._ledger_path("/validators"))["validators"]  # type: ignore[no-any-return]

    def user(self, address: str) -> dict[str, Any]:
        """A registered user: participant, roles, state, key and certificate."""
        return self._request("GET", self._ledger_path(f"/users/{_segment(address)}"))  # type: ignore[no-any-return]

    def users(self, participant: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Registered users and devices (address, participant, roles, state), one organisation's or all, at most `limit`."""
        found: list[dict[str, Any]] = []
        for page in self._pages("/users"):
            found += [u for u in page if participant is None or u["participant"] == participant]
            if len(found) >= limit:
                break
        return found[:limit]

    def revocations(self, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """The certificate revocation list: issuer_fingerprint and serial (hex), reason, height; at most `limit`."""
        found: list[dict[str, Any]] = []
        for page in self._pages("/certificates/revoked"):
            found += page
            if len(found) >= limit:
                break
        return found[:limit]

    def _pages(self, path: str) -> Iterator[list[dict[str, Any]]]:
        """The items of a paged ledger listing, a page (up to 1,000) at a time, following its `next` cursor."""
        after = None
        while True:
            query: dict[str, Any] = {"limit": 1000} if after is None else {"limit": 1000, "after": after}
            page = self._request("GET", self._ledger_path(path), params=query)
            yield page["items"]
            after = page["next"]
            if after is None:
                return

    def participant(self, name: str) -> dict[str, Any]:
        """A member organisation and its CA certificate."""
        return self._request("GET", self._ledger_path(f"/participants/{_segment(name)}"))  # type: ignore[no-any-return]

    def contract(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A contract's record, ABI and IR (the latest version unless `version`)."""
        query = {} if version is None else {"version": version}
        return self._request("GET", self._ledger_path(f"/contracts/{_segment(name)}"), params=query)  # type: ignore[no-any-return]

    def events(self, from_height: int, types: Sequence[str] = ("event",), account: str | None = None,
               topic: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(id, item) of every stream item from `from_height` to the current head, then stop (no waiting)."""
        params = {**_stream_params(types, account, topic), "from_height": from_height, "once": "1"}
        with self.http.get(self.base + self._ledger_path("/events"), params=params, stream=True,
                           timeout=self.timeout_s) as response:
            _raise_for_stream(response)
            return [(event_id, item) for event_id, _, item in _sse_items(response.iter_lines(decode_unicode=True))
                    if item is not None]

    def event_stream(self, types: Sequence[str] = ("block", "transaction", "event"), account: str | None = None,
                     topic: str | None = None, from_height: int | None = None, last_event_id: str | None = None,
                     read_timeout_s: float = 60.0) -> Iterator[tuple[str, str, dict[str, Any]] | None]:
        """One connection to the event stream: None once connected (so a refusal raises at the first `next`), then
        (id, type, item) per item and None per keep-alive, until the gateway ends it or a read times out.

        It does not reconnect (`subscribe` does): a relay hands its own client's Last-Event-ID back in instead."""
        params: dict[str, Any] = _stream_params(types, account, topic)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        elif from_height is not None:
            params["from_height"] = from_height
        with self.http.get(self.base + self._ledger_path("/events"), params=params, headers=headers, stream=True,
                           timeout=(5, read_timeout_s)) as response:
            _raise_for_stream(response)
            yield None
            for event_id, event_type, item in _sse_items(response.iter_lines(decode_unicode=True)):
                yield None if item is None else (event_id, event_type, item)

    # -- proofs, step by step -----------------------------------------------------------------

    def prove_transaction(self, tx_hash: bytes) -> ProofReport:
        """Check that `tx_hash` is in its block, and report every step (a failed check is a verdict, not an error;
        a transaction the gateway does not know raises ApiError 404)."""
        found = self._request("GET", self._ledger_path(f"/transactions/{tx_hash.hex()}"))
        facts: dict[str, Any] = {"kind": "transaction", "subject": tx_hash.hex(), "height": found["height"],
                                 "root_name": "tx_root"}
        try:
            facts["step"] = "body"
            body = Transaction.decode(self.suite, bytes.fromhex(found["encoded"]), 1 << 24)
            if body.hash != tx_hash:
                raise ProofFailed("the transaction body the gateway sent does not hash to this transaction hash",
                                  "wrong_body")
            light = self._certified(found["height"], facts)
            facts["step"] = "proof"
            proof = ListProof.from_value(decode(bytes.fromhex(found["proof"])))
            facts["root"] = light.header(found["height"]).tx_root
            facts["siblings"] = facts["nonempty_siblings"] = len(proof.path)
            light.verify_transaction(found["height"], tx_hash, proof)
        except (ProofError, ProofFailed, CodecError, CryptoError, ValueError) as exc:
            return self._report(facts, exc)
        return self._report(facts, None)

    def prove_entry(self, account: str, key: str, height: int | None = None, claimed_value: Any = _UNSET) -> ProofReport:
        """Check a data account value (or its absence) against a certified state root and report every step.

        With `claimed_value` (bytes), the check is whether the ledger holds that value instead of the one the
        gateway sent: a wrong claim fails at the proof step."""
        found = self.entry_record(account, key, height)

        def checked(raw: bytes | None) -> tuple[bytes | None, bytes | None]:
            record = None if raw is None else from_cbor(DataEntry, raw)
            if claimed_value is not _UNSET:
                claim = bytes(claimed_value)
                record = (replace(record, value=claim) if record is not None
                          else DataEntry(claim, 0, b"", found["height"], bytes(32)))
                raw = to_cbor(record)
            return raw, None if record is None else record.value

        facts: dict[str, Any] = {"kind": "entry", "subject": f"{account}/{key}", "claimed": claimed_value is not _UNSET}
        return self._prove_state(facts, found, lambda: ns.data_entry_key(account, key), checked)

    def contract_value(self, contract: str, map: str, key: Any, height: int | None = None) -> Any:
        """A contract storage value (None if absent), proven against a certified header (ProofFailed if it is not)."""
        report = self.prove_contract_value(contract, map, key, height)
        if not report.verified:
            raise ProofFailed(report.reason, report.code)
        return report.value

    def prove_contract_value(self, contract: str, map: str, key: Any, height: int | None = None,
                             claimed_value: Any = _UNSET, prefix: str | None = None) -> ProofReport:
        """Check a contract storage value (or its absence) against a certified state root and report every step.

        `key` is a contract value (a tuple for a tuple key). The state key is computed here from the contract, the
        map's prefix (`prefix`, or as the contract's current ABI declares it) and the key. With `claimed_value` (a
        contract value; None claims absence), the check is whether the ledger holds it instead of the value the
        gateway sent: a wrong claim fails at the proof step. Unknown contracts and maps raise ApiError 404."""
        shown = value_to_json(key)
        query: dict[str, Any] = {"key": json.dumps(shown)}
        if height is not None:
            query["height"] = height
        found = self._request("GET", self._ledger_path(f"/contracts/{_segment(contract)}/storage/{_segment(map)}"),
                              params=query)

        def checked(raw: bytes | None) -> tuple[bytes | None, Any]:
            if claimed_value is not _UNSET:
                raw = None if claimed_value is None else encode_value(claimed_value)
            return raw, None if raw is None else decode_value(raw)

        def state_key() -> bytes:
            return storage_key(contract, self._map_prefix(contract, map) if prefix is None else prefix, key)

        facts: dict[str, Any] = {"kind": "contract_value", "subject": f"{contract}/{map}[{json.dumps(shown)}]",
                                 "claimed": claimed_value is not _UNSET}
        return self._prove_state(facts, found, state_key, checked)

    def _map_prefix(self, contract: str, map: str) -> str:
        """The prefix the contract's current ABI declares for a storage map (asked once per contract and client)."""
        storage = self._storage_maps.get(contract)
        if storage is None or map not in storage:
            storage = self._storage_maps[contract] = self.contract(contract)["abi"].get("storage", {})
        if map not in storage:
            raise ProofFailed(f"contract {contract!r} declares no storage map {map!r}", "unknown_map")
        return storage[map]  # type: ignore[no-any-return]

    def _prove_state(self, facts: dict[str, Any], found: dict[str, Any], state_key: Callable[[], bytes],
                     checked: Callable[[bytes | None], tuple[bytes | None, Any]]) -> ProofReport:
        """Check the state record the gateway sent (as `checked` turns it into the record to prove and its value) at
        the key computed here by `state_key`, against the certified state root of its height; report every step."""
        facts.update(height=found["height"], root_name="state_root")
        try:
            facts["step"] = "key"
            key = state_key()
            if bytes.fromhex(found["state_key"]) != key:
                raise ProofFailed("the gateway proved another key", "wrong_key")
            facts["raw"], facts["value"] = checked(None if found["raw"] is None else bytes.fromhex(found["raw"]))
            light = self._certified(found["height"], facts)
            facts["step"] = "proof"
            proof = SparseMerkleProof.from_cbor(decode(bytes.fromhex(found["proof"])))
            facts["root"] = light.header(found["height"]).state_root
            facts["siblings"] = len(proof.siblings)
            facts["nonempty_siblings"] = sum(1 for s in proof.siblings if s != PLACEHOLDER)
            light.verify_state(found["height"], key, facts["raw"], proof)
        except (ProofError, ProofFailed, CodecError, ContractError, CryptoError, ValueError, TypeError) as exc:
            return self._report(facts, exc)
        return self._report(facts, None)

    def _certified(self, height: int, facts: dict[str, Any]) -> LightClient:
        """Advance the light client to `height` and record what that took and who certified `height`."""
        facts["step"] = "headers"
        fresh = self._light is None
        before = set() if self._light is None else set(self._light.trusted)
        try:
            light = self.light_client(height)
        finally:
            if self._light is not None:
                facts["genesis_checked_now"] = fresh and 0 in self._light.trusted
                facts["headers_checked_now"] = len(set(self._light.trusted) - before)
                facts["headers_trusted"] = len([h for h in self._light.trusted if h <= height])
        facts["step"] = "certificate"
        item = self._request("GET", self._ledger_path("/headers"), params={"first": height, "last": height})["headers"]
        if not item:
            raise ProofFailed(f"the gateway has no header {height}", "missing_header")
        header_raw = bytes.fromhex(item[0]["header"])
        certificate = from_cbor(CommitCertificate, bytes.fromhex(item[0]["certificate"]))
        trusted = light.header(height)
        if header_raw != trusted.encode():
            raise ProofFailed(f"the gateway now sends another header {height} than the one checked", "header_changed")
        validators = self._validators_at(light, trusted)
        facts["validator_count"], facts["quorum"] = len(validators.validators), validators.quorum
        problem = certificate.problems(validators, trusted.hash(self.suite), height)
        if problem:
            raise ProofFailed(f"block {height}: {problem}", "bad_certificate")
        facts["validators"] = tuple(str(Address.of(PublicKey.decode(v.public_key), self.suite.hash_algorithm))
                                    for v in certificate.votes)
        return light

    def _validators_at(self, light: LightClient, header: BlockHeader) -> ValidatorSet:
        """The validator set that certifies `header` (proven: the light client's set or one stored by a trusted block)."""
        if light.validators.hash(self.suite) == header.validators_hash:
            return light.validators
        if header.height == 0:
            genesis = self._request("GET", self._ledger_path("/genesis"))
            raw = bytes.fromhex(genesis["validators"])
            light.verify_state(0, ns.validators_key(), raw,
                               SparseMerkleProof.from_cbor(decode(bytes.fromhex(genesis["proof"]))))
            validators = from_cbor(ValidatorSet, raw)
        else:
            validators = self._validators_after(header.height - 1)
        if validators.hash(self.suite) != header.validators_hash:
            raise ProofFailed(f"no proven validator set matches header {header.height}", "unknown_validators")
        return validators

    def _report(self, facts: dict[str, Any], failure: Exception | None) -> ProofReport:
        if failure is None:
            facts["step"] = ""
            return ProofReport(ledger_id=self.ledger_id, verified=True, **facts)
        return ProofReport(ledger_id=self.ledger_id, verified=False, reason=str(failure),
                           code=getattr(failure, "code", type(failure).__name__), **facts)

    # -- writes ---------------------------------------------------------------------------------

    def build(self, ops: Sequence[Operation], signers: Sequence[PrivateKey] | None = None, ttl: int = 100) -> Transaction:
        """A signed transaction valid for the next `ttl` blocks."""
        keys = list(signers) if signers is not None else ([self.key] if self.key is not None else [])
        if not keys:
            raise ValueError("no key to sign with")
        height = self.status()["height"]
        return Transaction.create(self.suite, TxContent(self.ledger_id, os.urandom(16), height + ttl, tuple(ops)), keys)

    def submit(self, txs: Sequence[Transaction], wait_ms: int = 0) -> list[dict[str, Any]]:
        """Submit signed transactions (one request); with wait_ms, each result carries its outcome."""
        body: dict[str, Any] = {"transactions": [t.encode().hex() for t in txs]}
        if wait_ms:
            body["wait_ms"] = wait_ms
        return self._request("POST", self._ledger_path("/transactions"), json=body)["results"]  # type: ignore[no-any-return]

    def send(self, ops: Sequence[Operation], wait_ms: int = 30_000) -> dict[str, Any]:
        """Build, sign, submit and wait; the outcome (status, receipt) or the refusal."""
        tx = self.build(ops)
        result = self.submit([tx], wait_ms)[0]
        return result.get("outcome", result)  # type: ignore[no-any-return]

    def wait(self, tx_hash: bytes, timeout_ms: int = 30_000) -> dict[str, Any]:
        """The outcome of a transaction, waiting up to timeout_ms for it to commit."""
        return self._request("GET", self._ledger_path(f"/transactions/{tx_hash.hex()}/outcome"),  # type: ignore[no-any-return]
                             params={"wait_ms": timeout_ms})

    def invoke(self, contract: str, function: str, *args: Any, wait_ms: int = 30_000) -> dict[str, Any]:
        """Invoke a contract function in a transaction signed by this client's key."""
        return self.send([InvokeContract(contract, function, encode_args(list(args)))], wait_ms)

    def simulate(self, contract: str, function: str, *args: Any, trace: bool = False) -> dict[str, Any]:
        """Dry-run an invocation signed by this client's key: value, events, read/write set, gas (and steps)."""
        tx = self.build([InvokeContract(contract, function, encode_args(list(args)))])
        path = self._ledger_path(f"/contracts/{contract}/{'trace' if trace else 'simulate'}")
        return self._request("POST", path, json={"transaction": tx.encode().hex()})["invocations"][0]  # type: ignore[no-any-return]

    @property
    def address(self) -> str:
        """This client's key as an address of the ledger."""
        if self.key is None:
            raise ValueError("this client has no key")
        return str(Address.of(self.key.public_key(), self.suite.hash_algorithm))

    # -- events ---------------------------------------------------------------------------------

    def subscribe(self, types: Sequence[str] = ("block", "transaction", "event"), account: str | None = None,
                  topic: str | None = None, from_height: int | None = None, checkpoint: Path | None = None,
                  reconnect_s: float = 1.0) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, item) for every stream item, in order, reconnecting with Last-Event-ID after any drop.

        With `checkpoint`, the id of each item is written there after the caller has taken it (the
        generator resumes only when asked for the next item), so a process that restarts with the
        same file continues after the last item it handled.
        """
        last = checkpoint.read_text().strip() if checkpoint is not None and checkpoint.exists() else None
        params = _stream_params(types, account, topic)
        while True:
            headers = {"Accept": "text/event-stream"}
            if last:
                headers["Last-Event-ID"] = last
            elif from_height is not None:
                params["from_height"] = from_height
            try:
                with self.http.get(self.base + self._ledger_path("/events"), params=params, headers=headers,
                                   stream=True, timeout=(5, 60)) as response:
                    if response.status_code >= 400:
                        error = response.json().get("error", {})
                        raise ApiError(response.status_code, error.get("code", "error"), error.get("message", ""),
                                       error.get("field"))
                    for event_id, _, data in _sse_items(response.iter_lines(decode_unicode=True)):
                        if data is None:
                            continue  # a keep-alive comment
                        yield event_id, data
                        last = event_id
                        if checkpoint is not None:
                            _write_atomic(checkpoint, event_id)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                time.sleep(reconnect_s)


def _segment(text: str) -> str:
    """One URL path segment (every reserved character escaped)."""
    return quote(text, safe="")


def _stream_params(types: Sequence[str], account: str | None, topic: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"types": ",".join(types)}
    if account:
        params["account"] = account
    if topic:
        params["topic"] = topic
    return params


def _raise_for_stream(response: requests.Response) -> None:
    if response.status_code >= 400:
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {"message": response.text[:200]}
        raise ApiError(response.status_code, error.get("code", "error"), error.get("message", ""), error.get("field"))


def _sse_items(lines: Iterator[str | bytes]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(id, type, data) of each complete server-sent event, and ("", "", None) for each comment (keep-alive)."""
    event_id: str | None = None
    event_type = "message"
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if line == "":
            if event_id is not None and data:
                yield event_id, event_type, json.loads("\n".join(data))
            event_id, event_type, data = None, "message", []
        elif line.startswith(":"):
            yield "", "", None
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("event:"):
            event_type = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


__all__ = ["ApiError", "Client", "Entry", "ProofError", "ProofFailed", "ProofReport"]
