"""The Python SDK: build, sign, submit and wait; read state with proofs checked locally; subscribe to events.

Everything goes through a gateway's /v1 API over HTTP (keep-alive). Proofs
are checked by a light client that trusts only the ledger id (the genesis
header hash) and follows certified validator-set changes header by header.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import requests

from chain.codec import decode
from chain.codec.schema import from_cbor
from chain.contracts import encode_args
from chain.crypto import Address, CryptoSuite, PrivateKey, get_suite
from chain.gateway.auth import token_message
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.light_client import LightClient
from chain.ledger.merkle import ListProof
from chain.ledger.operations import InvokeContract, Operation
from chain.ledger.smt import ProofError, SparseMerkleProof
from chain.ledger.transaction import Transaction, TxContent
from chain.sdk.errors import ApiError, ProofFailed


@dataclass(frozen=True)
class Entry:
    """A data account value, proven against a certified header."""

    account: str
    key: str
    value: bytes | None
    version: int | None
    height: int
    verified: bool


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

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        response = self.http.request(method, self.base + path, headers=headers, timeout=self.timeout_s, **kwargs)
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
            light = self.light_client(found["height"])
            light.verify_transaction(found["height"], tx_hash, ListProof.from_value(decode(bytes.fromhex(found["proof"]))))
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
        light.verify_state(height, state_key, raw, SparseMerkleProof.from_cbor(decode(bytes.fromhex(proof_hex))))

    # -- light client -------------------------------------------------------------------------

    def light_client(self, height: int) -> LightClient:
        """The light client, advanced (certificates checked header by header) to trust `height`."""
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
        params: dict[str, Any] = {"types": ",".join(types)}
        if account:
            params["account"] = account
        if topic:
            params["topic"] = topic
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
                    for event_id, data in _sse(response.iter_lines(decode_unicode=True)):
                        yield event_id, data
                        last = event_id
                        if checkpoint is not None:
                            _write_atomic(checkpoint, event_id)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                time.sleep(reconnect_s)


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, data) of each complete server-sent event."""
    event_id, data = None, []
    for line in lines:
        if line == "":
            if event_id is not None and data:
                yield event_id, json.loads("\n".join(data))
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


__all__ = ["ApiError", "Client", "Entry", "ProofError", "ProofFailed"]
