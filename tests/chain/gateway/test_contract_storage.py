"""Contract storage through the gateway: values with state proofs, checked by the SDK's light client, which computes
the state key itself and catches a gateway that alters what it sends."""
from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests

from chain.contracts import compile_source, encode_value
from chain.gateway.storage import storage_key
from chain.ledger.model import ContractPolicy
from chain.ledger.operations import DeployContract
from chain.sdk import ApiError, Client, ProofFailed
from tests.chain.gateway.conftest import Stack

SOURCE = '''"""Facts by item, quantities by (gtin, lot), notes by tag bytes."""
from contract import Map

items = Map("items")
lots = Map("lot-index", default=0)
notes = Map("notes")


def record(item: str, fact: dict) -> None:
    """Store a fact about an item."""
    items[item] = fact


def count(gtin: str, lot: str, quantity: int) -> None:
    """Set the quantity of a lot."""
    lots[(gtin, lot)] = quantity


def note(tag: bytes, text: str) -> None:
    """Attach a note to a tag."""
    notes[tag] = text
'''
FACT = {"event": "shipped", "quantity": 3}
LOT = ("00614141107346", "L1")
WRITTEN: dict[str, int] = {}  # function -> height of the block that ran it


@pytest.fixture(scope="module")
def client(stack: Stack) -> Client:
    admin = Client(stack.url, key=stack.admin)
    deployed = admin.send([DeployContract("facts", compile_source(SOURCE, "facts.py").encode(), ContractPolicy(1, ("org1",)))])
    assert deployed["receipt"]["code_name"] == "SUCCESS", deployed
    for function, args in (("record", ("sgtin:1", FACT)), ("count", (*LOT, 12)), ("note", (b"\x00\xff", "raw tag"))):
        outcome = admin.invoke("facts", function, *args)
        assert outcome["receipt"]["code_name"] == "SUCCESS", outcome
        WRITTEN[function] = outcome["receipt"]["height"]
    return admin


def _get(stack: Stack, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{stack.url}/v1/ledgers/main/contracts/{path}", params=params, timeout=10)


def test_the_route_serves_a_value_with_its_proof(stack: Stack, client: Client) -> None:
    body = _get(stack, "facts/storage/items", key='"sgtin:1"').json()
    assert body["value"] == FACT and body["contract"] == "facts" and body["map"] == "items" and body["key"] == "sgtin:1"
    assert body["state_key"] == storage_key("facts", "items", "sgtin:1").hex()
    assert body["raw"] == encode_value(FACT).hex() and body["proof"]
    document = requests.get(f"{stack.url}/v1/openapi.json", timeout=10).json()
    operation = document["paths"]["/v1/ledgers/{ledger}/contracts/{name}/storage/{map}"]["get"]
    jsonschema.validate(body, operation["responses"]["200"]["content"]["application/json"]["schema"])
    lot = _get(stack, "facts/storage/lots", key='["00614141107346", "L1"]').json()
    assert lot["value"] == 12 and lot["state_key"] == storage_key("facts", "lot-index", LOT).hex()  # the declared prefix
    assert _get(stack, "facts/storage/notes", key='{"hex": "00ff"}').json()["value"] == "raw tag"
    before = _get(stack, "facts/storage/items", key='"sgtin:1"', height=WRITTEN["record"] - 1).json()
    assert before["raw"] is None and before["value"] is None and before["height"] == WRITTEN["record"] - 1


def test_the_light_client_proves_values_and_absence(stack: Stack, client: Client) -> None:
    anonymous = Client(stack.url)  # contract storage is public, as contract records are
    report = anonymous.prove_contract_value("facts", "items", "sgtin:1")
    assert report.verified and report.kind == "contract_value" and report.value == FACT, report
    assert report.raw == encode_value(FACT) and report.root and report.siblings and report.validators
    assert anonymous.contract_value("facts", "lots", LOT) == 12
    assert anonymous.contract_value("facts", "lots", list(LOT)) == 12  # a list stands for a tuple key
    assert anonymous.contract_value("facts", "notes", b"\x00\xff") == "raw tag"
    absent = anonymous.prove_contract_value("facts", "items", "sgtin:404")
    assert absent.verified and absent.value is None and absent.raw is None
    assert anonymous.contract_value("facts", "lots", ("00614141107346", "L2")) is None
    older = anonymous.prove_contract_value("facts", "items", "sgtin:1", height=WRITTEN["record"] - 1)
    assert older.verified and older.value is None and older.height == WRITTEN["record"] - 1
    at_write = anonymous.prove_contract_value("facts", "items", "sgtin:1", height=WRITTEN["record"])
    assert at_write.verified and at_write.value == FACT
    given = anonymous.prove_contract_value("facts", "lots", LOT, prefix="lot-index")
    assert given.verified and given.value == 12


def test_a_claimed_value_is_checked_against_the_root(client: Client) -> None:
    wrong = client.prove_contract_value("facts", "items", "sgtin:1", claimed_value={"event": "received", "quantity": 3})
    assert not wrong.verified and wrong.step == "proof" and wrong.claimed and wrong.value["event"] == "received"
    assert client.prove_contract_value("facts", "items", "sgtin:1", claimed_value=FACT).verified
    assert not client.prove_contract_value("facts", "items", "sgtin:1", claimed_value=None).verified
    assert client.prove_contract_value("facts", "items", "sgtin:404", claimed_value=None).verified
    assert not client.prove_contract_value("facts", "items", "sgtin:404", claimed_value=FACT).verified


def test_unknown_contracts_maps_and_bad_keys_are_refused_naming_the_field(stack: Stack, client: Client) -> None:
    for contract, map_name, field in (("nope", "items", "name"), ("facts", "nope", "map")):
        with pytest.raises(ApiError) as refused:
            client.contract_value(contract, map_name, "sgtin:1")
        assert refused.value.status == 404 and refused.value.field == field
    assert _get(stack, "facts/storage/items", key='"sgtin:1"', version=7).json()["error"]["field"] == "version"
    malformed = ("sgtin:1", '["a", 1.5]', '{"a": 1}', '{"hex": "0g"}', "[" * 40 + "]" * 40, "[" * 2000 + "]" * 2000,
                 "1e400", "x" * 5000, "")
    for key in malformed:
        response = _get(stack, "facts/storage/items", key=key)
        assert response.status_code == 400 and response.json()["error"]["field"].startswith("key"), (key, response.text)
    assert _get(stack, "facts/storage/items").json()["error"]["field"] == "key"


def _tampering(client: Client, monkeypatch: pytest.MonkeyPatch, path_part: str, change: Any) -> None:
    """Make the client's gateway alter the JSON of responses whose path contains `path_part`."""
    real = client._request

    def altered(method: str, path: str, **kwargs: Any) -> Any:
        body = real(method, path, **kwargs)
        return change(body) if path_part in path else body

    monkeypatch.setattr(client, "_request", altered)


@pytest.mark.parametrize("change, step, code", [
    (lambda b: {**b, "raw": encode_value({"event": "received"}).hex(), "value": {"event": "received"}}, "proof", None),
    (lambda b: {**b, "raw": "ff"}, "key", None),
    (lambda b: {**b, "state_key": storage_key("facts", "items", "sgtin:2").hex()}, "key", "wrong_key"),
    (lambda b: {**b, "proof": b["proof"][:-2]}, "proof", None),
])
def test_a_tampering_gateway_is_caught(client: Client, monkeypatch: pytest.MonkeyPatch, change: Any, step: str,
                                       code: str | None) -> None:
    _tampering(client, monkeypatch, "/storage/", change)
    report = client.prove_contract_value("facts", "items", "sgtin:1")
    assert not report.verified and report.step == step, report
    if code:
        assert report.code == code
    with pytest.raises(ProofFailed):
        client.contract_value("facts", "items", "sgtin:1")


def test_a_gateway_lying_about_the_map_prefix_proves_another_key(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _tampering(client, monkeypatch, "/contracts/facts", lambda b: {**b, "abi": {**b["abi"], "storage": {"items": "notes"}}}
               if "abi" in b else b)
    client._storage_maps.clear()  # the client asks for a contract's maps once; make it ask the lying gateway
    report = client.prove_contract_value("facts", "items", "sgtin:1")
    assert not report.verified and report.code == "wrong_key"
