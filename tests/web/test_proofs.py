"""The proof page: the SDK light client checks from the ledger id up, and the page shows each step and the verdict."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from chain.codec import decode, encode
from chain.sdk import Client
from tests.web.conftest import Explorer


def test_a_real_transaction_is_verified_step_by_step(page: Any, explorer: Explorer) -> None:
    data = explorer.data
    page.goto(f"/explorer/tx/{data.transfer_tx}")
    page.click("#verify-link")
    expect(page.locator("#verdict")).to_have_text("Verified")
    ledger_id = explorer.client().ledger_id.hex()
    expect(page.locator("#proof-facts")).to_contain_text(ledger_id)
    expect(page.locator("#headers-trusted")).to_contain_text(f"{data.transfer_height + 1} (0–{data.transfer_height})")
    expect(page.locator("#certifying-validators")).to_contain_text(data.validator)
    expect(page.locator("#proof-root")).to_contain_text("tx_root")
    steps = page.locator("#proof-steps li")
    expect(steps).to_have_count(5)
    for i in range(1, 5):
        expect(steps.nth(i)).to_have_class("step passed")


def test_a_real_entry_is_verified_and_a_wrong_value_fails(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/proof")
    page.fill("#proof-q", "orders/po-1")
    page.check("input[name=fresh]")
    page.click("#proof-form button")
    expect(page.locator("#verdict")).to_have_text("Verified")
    expect(page.locator("#proof-steps")).to_contain_text("the genesis header included")
    expect(page.locator("#proof-root")).to_contain_text("state_root")
    expect(page.locator("#proof-siblings")).to_contain_text("non-empty")
    page.fill("#proof-claim", "packed")  # the old value: no longer what the ledger holds
    page.click("#proof-form button")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_class("verdict failed")
    expect(verdict).to_contain_text("Failed: the proven value differs from the claimed value")
    expect(page.locator("li[data-step='Merkle proof']")).to_have_class("step failed")
    expect(page.locator("li[data-step='Certificate']")).to_have_class("step passed")


def test_a_tampered_proof_from_the_gateway_fails(page: Any, explorer: Explorer, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Client._request

    def lying(self: Client, method: str, path: str, **kwargs: Any) -> Any:
        body = original(self, method, path, **kwargs)
        if "/entries/" in path and isinstance(body, dict) and body.get("proof"):
            proof: Any = decode(bytes.fromhex(body["proof"]))  # [depth, bitmap, [siblings], leaf]
            sibling = proof[2][0]
            proof[2][0] = bytes([sibling[0] ^ 1]) + sibling[1:]  # one bit of one sibling hash
            body["proof"] = encode(proof).hex()
        return body

    monkeypatch.setattr(Client, "_request", lying)  # the explorer runs in this process: its SDK now sees a lying gateway
    page.goto("/explorer/proof?q=orders/po-1")
    expect(page.locator("#verdict")).to_contain_text("Failed: the proof does not lead to the trusted root")
    expect(page.locator("li[data-step='Headers']")).to_have_class("step passed")


def test_proving_an_absent_key_and_unknown_subjects(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/proof?q=orders/never-written")
    expect(page.locator("#verdict")).to_have_text("Verified")
    expect(page.locator("#proof-facts")).to_contain_text("(absent)")
    response = page.goto("/explorer/proof?q=" + "cd" * 32)
    assert response.status == 404
    expect(page.locator("#error-message")).to_contain_text("no committed transaction")
    response = page.goto("/explorer/proof?q=hello")
    assert response.status == 400
    expect(page.locator("#proof-message")).to_contain_text("transaction hash")
