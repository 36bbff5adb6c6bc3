"""The gateway against a real node: submit and wait, proofs checked by the SDK's light client, tokens and read
permissions, custody, contracts, clear JSON errors, failover past a dead node."""
from __future__ import annotations

from pathlib import Path

import requests

from chain.contracts import compile_source
from chain.ledger.model import ContractPolicy
from chain.ledger.operations import ConfigureRole, DeployContract, RegisterDataAccount, WriteKV
from chain.sdk import ApiError, Client
from tests.chain.gateway.conftest import Stack

TOKEN = Path(__file__).resolve().parents[3] / "chain" / "contracts" / "examples" / "token.py"


def test_openapi_document_lists_every_route(stack: Stack) -> None:
    doc = requests.get(f"{stack.url}/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.") and len(doc["paths"]) >= 20
    assert "/v1/ledgers/{ledger}/transactions" in doc["paths"] and "/v1/ledgers/{ledger}/events" in doc["paths"]
    for path in doc["paths"].values():
        for operation in path.values():
            assert "400" in operation["responses"] or "401" in operation["responses"] or operation["parameters"] == []


def test_submit_wait_and_read_with_a_verified_proof(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    outcome = client.send([RegisterDataAccount("orders", ()), WriteKV("orders", "po-1", b"packed", -1)])
    assert outcome["status"] == "committed" and outcome["receipt"]["code_name"] == "SUCCESS", outcome
    client.send([WriteKV("orders", "po-1", b"shipped", None)])
    entry = client.entry("orders", "po-1")
    assert entry.value == b"shipped" and entry.version == 1 and entry.verified
    older = client.entry("orders", "po-1", height=entry.height - 1)
    assert older.value == b"packed"
    assert client.entry("orders", "missing").value is None  # non-inclusion is proven too
    history = requests.get(f"{stack.url}/v1/ledgers/main/accounts/orders/entries/po-1/history", timeout=10).json()
    assert [h["text"] for h in history["history"]] == ["packed", "shipped"]
    tx_hash = bytes.fromhex(outcome["receipt"]["tx_hash"])
    assert client.transaction(tx_hash)["verified"]


def test_batch_submission_and_outcomes(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    client.send([RegisterDataAccount("batch", ())])
    txs = [client.build([WriteKV("batch", f"k{i}", b"v", None)]) for i in range(20)]
    results = client.submit(txs, wait_ms=30_000)
    assert all(r["accepted"] and r["outcome"]["status"] == "committed" for r in results), results[:2]
    again = client.submit(txs[:1])[0]
    assert not again["accepted"] and again["code_name"] == "DUPLICATE"


def test_restricted_accounts_need_a_token_with_read_permission(stack: Stack) -> None:
    admin = Client(stack.url, key=stack.admin)
    admin.send([ConfigureRole("AUDITOR", 0, 1), RegisterDataAccount("secret", ("AUDITOR",)), WriteKV("secret", "k", b"v", None)])
    anonymous = requests.get(f"{stack.url}/v1/ledgers/main/accounts/secret/entries/k", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert admin.entry("secret", "k").value == b"v"  # the owner, with a token
    bad = requests.get(f"{stack.url}/v1/ledgers/main/accounts/secret/entries/k", headers={"Authorization": "Bearer nope"},
                       timeout=10)
    assert bad.status_code == 401


def test_custodial_transactions_and_contracts(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    ir = compile_source(TOKEN.read_text(), "token.py").encode()
    deployed = client.send([DeployContract("gold", ir, ContractPolicy(1, ("org1",)))])
    assert deployed["receipt"]["code_name"] == "SUCCESS", deployed
    headers = {"Authorization": f"Bearer {client.token()}"}
    init = requests.post(f"{stack.url}/v1/ledgers/main/contracts/gold/invoke", headers=headers, timeout=30,
                         json={"function": "init", "args": ["Gold", "GLD", 10**30]}).json()
    assert init["outcome"]["receipt"]["code_name"] == "SUCCESS", init
    moved = client.invoke("gold", "transfer", "bob", 10**20)
    assert moved["receipt"]["result"][0]["value"] is True
    dry = client.simulate("gold", "balance_of", "bob")
    assert dry["value"] == 10**20 and dry["ok"]
    traced = client.simulate("gold", "transfer", "carol", 5, trace=True)
    assert traced["steps"] and all("line" in s for s in traced["steps"])
    info = requests.get(f"{stack.url}/v1/ledgers/main/contracts/gold", timeout=10).json()
    assert info["state"] == "NORMAL" and "(contract" in info["ir"]
    custodial = requests.post(f"{stack.url}/v1/ledgers/main/transactions/custodial", headers=headers, timeout=30,
                              json={"operations": [{"type": "RegisterEventAccount", "name": "alerts"},
                                                   {"type": "PublishEvent", "account": "alerts", "topic": "t",
                                                    "content": "0102", "expected_sequence": None}], "wait_ms": 30000})
    assert custodial.json()["outcome"]["receipt"]["code_name"] == "SUCCESS", custodial.json()


def test_errors_are_json_with_a_code_and_the_field(stack: Stack) -> None:
    cases = [
        ("GET", "/v1/ledgers/nope", 404, "ledger"),
        ("GET", "/v1/ledgers/main/transactions/zz", 400, "tx_hash"),
        ("GET", "/v1/ledgers/main/blocks/999999999", 404, None),
        ("POST", "/v1/ledgers/main/transactions", 400, "body"),
        ("GET", "/v1/ledgers/main/state/07aa", 403, "state_key"),
        ("POST", "/v1/ledgers/main/transactions/custodial", 401, "Authorization"),
    ]
    for method, path, status, field in cases:
        response = requests.request(method, stack.url + path, timeout=10, data="not json" if method == "POST" else None)
        body = response.json()
        assert response.status_code == status, (path, body)
        assert body["error"]["code"] and "Traceback" not in response.text
        if field:
            assert body["error"]["field"] == field, (path, body)
    refused = requests.post(f"{stack.url}/v1/ledgers/main/transactions", json={"transaction": "00ff"}, timeout=10).json()
    assert refused["results"][0]["accepted"] is False and refused["results"][0]["code_name"] == "MALFORMED"


def test_the_first_configured_node_is_dead_and_requests_still_succeed(stack: Stack) -> None:
    for _ in range(3):
        assert requests.get(f"{stack.url}/v1/health", timeout=10).json()["status"] == "ok"


def test_a_bad_token_request_is_refused(stack: Stack) -> None:
    client = Client(stack.url)
    response = requests.post(f"{stack.url}/v1/auth/tokens", timeout=10, json={
        "ledger": "main", "public_key": stack.admin.public_key().encode().hex(), "timestamp_ms": 1,
        "signature": "00"})
    assert response.status_code in (400, 401)
    try:
        client.token()
    except ValueError:
        pass
    else:
        raise AssertionError("a client without a key cannot log in")
    assert isinstance(ApiError(400, "x", "y"), Exception)


def test_lists_page_through_users_participants_and_contracts(stack: Stack) -> None:
    participants = requests.get(f"{stack.url}/v1/ledgers/main/participants", timeout=10).json()
    assert [p["name"] for p in participants["items"]] == ["org1", "org2"] and participants["next"] is None
    first = requests.get(f"{stack.url}/v1/ledgers/main/participants", params={"limit": 1}, timeout=10).json()
    second = requests.get(f"{stack.url}/v1/ledgers/main/participants", params={"limit": 1, "after": first["next"]},
                          timeout=10).json()
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["org1", "org2"]
    users = requests.get(f"{stack.url}/v1/ledgers/main/users", timeout=10).json()["items"]
    assert any(u["roles"] == ["ADMIN"] for u in users)
    one = requests.get(f"{stack.url}/v1/ledgers/main/users/{users[0]['address']}", timeout=10).json()
    assert one["participant"] == users[0]["participant"]
    crl = requests.get(f"{stack.url}/v1/ledgers/main/certificates/revoked", timeout=10).json()
    assert crl == {"items": [], "next": None}
    wrong = requests.get(f"{stack.url}/v1/ledgers/main/users", params={"after": "02aa"}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "after"


def test_keys_with_slashes_and_address_fields_in_text(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    client.send([RegisterDataAccount("paths", ()), WriteKV("paths", "a/b/c", b"deep", None)])
    assert client.entry("paths", "a/b/c").value == b"deep"
    history = requests.get(f"{stack.url}/v1/ledgers/main/accounts/paths/entries/a%2Fb%2Fc/history", timeout=10).json()
    assert [h["text"] for h in history["history"]] == ["deep"]
    outcome = client.send([ConfigureRole("VIEWER", 0, 1)])
    me = client.address
    headers = {"Authorization": f"Bearer {client.token()}"}
    granted = requests.post(f"{stack.url}/v1/ledgers/main/transactions/custodial", headers=headers, timeout=30, json={
        "operations": [{"type": "AuthorizeRoles", "address": me, "grant": ["VIEWER"], "revoke": [], "policy": "UNION"}],
        "wait_ms": 30000}).json()
    assert granted["outcome"]["receipt"]["code_name"] == "SUCCESS", granted
    shown = requests.get(f"{stack.url}/v1/ledgers/main/transactions/{granted['tx_hash']}", timeout=10).json()
    assert shown["operations"][0]["address"] == me
    assert client.transaction(bytes.fromhex(granted["tx_hash"]))["verified"]
    del outcome


def test_concurrent_single_submissions_reach_the_node_in_groups(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = Client(stack.url, key=stack.admin)
    client.send([RegisterDataAccount("burst", ())])
    gateway = stack.app.extensions["gateway"]  # type: ignore[attr-defined]
    real_call, calls = gateway.nodes.call, []

    def counting(method: str, **params):  # type: ignore[no-untyped-def]
        if method == "submit":
            calls.append(len(params["transactions"]))
        return real_call(method, **params)

    gateway.nodes.call = counting
    gateway.submitter("main").call = counting
    try:
        txs = [client.build([WriteKV("burst", f"k{i}", b"v", None)]) for i in range(120)]

        def post(tx):  # type: ignore[no-untyped-def]
            return requests.post(f"{stack.url}/v1/ledgers/main/transactions", json={"transaction": tx.encode().hex()},
                                 timeout=30).json()["results"][0]

        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(post, txs))
    finally:
        gateway.nodes.call = real_call
        gateway.submitter("main").call = real_call
    assert all(r["accepted"] for r in results)
    assert sum(calls) == 120 and len(calls) < 120  # coalesced: fewer node requests than HTTP requests
    assert [r["tx_hash"] for r in results] == [t.hash.hex() for t in txs]  # each caller got its own verdict


def test_a_gateway_with_two_worker_processes_serves_and_honours_tokens_from_either(stack: Stack) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.chain.node.conftest import REPO, free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chain.cli.main", "gateway", "run", "--node", f"127.0.0.1:{stack.node.port}",
                             "--port", str(port), "--workers", "2", "--threads", "8"], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/v1/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        client = Client(url, key=stack.admin)
        client.send([RegisterDataAccount("workers", ()), WriteKV("workers", "k", b"v", None)])
        token = client.token()
        for _ in range(40):  # new connections land on either worker; a token from one is good at the other
            response = requests.get(f"{url}/v1/ledgers/main/participants", headers={"Authorization": f"Bearer {token}",
                                                                                     "Connection": "close"}, timeout=10)
            assert response.status_code == 200
        assert client.entry("workers", "k").verified
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""


def test_committed_blocks_and_transactions_are_served_as_immutable_json(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    outcome = client.send([RegisterDataAccount("immutable", ())])
    height, tx_hash = outcome["receipt"]["height"], outcome["receipt"]["tx_hash"]
    numbered = requests.get(f"{stack.url}/v1/ledgers/main/blocks/{height}", timeout=10)
    again = requests.get(f"{stack.url}/v1/ledgers/main/blocks/{height}", timeout=10)
    assert numbered.status_code == 200 and numbered.headers["Content-Type"] == "application/json"
    assert "immutable" in numbered.headers["Cache-Control"] and again.content == numbered.content
    assert tx_hash in numbered.json()["transactions"] and numbered.json()["header"]["height"] == height
    latest = requests.get(f"{stack.url}/v1/ledgers/main/blocks/latest", timeout=10)
    assert latest.status_code == 200 and "Cache-Control" not in latest.headers  # 'latest' moves on
    assert latest.json()["header"]["height"] >= height
    shown = requests.get(f"{stack.url}/v1/ledgers/main/transactions/{tx_hash}", timeout=10)
    assert "immutable" in shown.headers["Cache-Control"] and shown.json()["receipt"]["code_name"] == "SUCCESS"
    assert requests.get(f"{stack.url}/v1/ledgers/main/transactions/{tx_hash}", timeout=10).content == shown.content
    missing = requests.get(f"{stack.url}/v1/ledgers/main/transactions/{'00' * 32}", timeout=10)
    assert missing.status_code == 404 and "Cache-Control" not in missing.headers
