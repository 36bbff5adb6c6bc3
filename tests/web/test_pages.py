"""The explorer's pages in a browser, showing the data the session wrote through the SDK."""
from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Explorer


def test_home_shows_the_ledger_status_and_the_latest_blocks(page: Any, explorer: Explorer) -> None:
    height = explorer.client().status()["height"]
    response = page.goto("/")
    assert response.status == 200 and page.url.endswith("/explorer/")
    expect(page.locator("#status-height")).to_have_text(str(height))
    rows = page.locator("#latest-blocks tbody tr")
    expect(rows).to_have_count(min(20, height + 1))
    expect(rows.first).to_have_attribute("data-height", str(height))
    page.locator("#latest-blocks tbody tr").first.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/explorer/blocks/{height}$"))


def test_block_page_shows_header_transactions_events_and_certificate_signers(page: Any, explorer: Explorer) -> None:
    data = explorer.data
    page.goto(f"/explorer/blocks/{data.transfer_height}")
    expect(page.locator("h1")).to_have_text(f"Block {data.transfer_height}")
    expect(page.locator("#block-header")).to_contain_text("State root")
    transactions = page.locator("#block-transactions")
    expect(transactions).to_contain_text(data.transfer_tx[:16])
    expect(transactions).to_contain_text("SUCCESS")
    expect(transactions).to_contain_text("true")  # the transfer's contract result
    expect(page.locator(".events-table")).to_contain_text("Transfer")
    expect(page.locator(".events-table")).to_contain_text("bob")
    expect(page.locator("#certificate-signers")).to_contain_text(data.validator)


def test_transaction_page_shows_operations_signers_receipt_and_contract_results(page: Any, explorer: Explorer) -> None:
    data = explorer.data
    page.goto(f"/explorer/tx/{data.transfer_tx}")
    expect(page.locator("#tx-operations")).to_contain_text("InvokeContract")
    expect(page.locator("#tx-operations")).to_contain_text("transfer")
    expect(page.locator("#tx-signers")).to_contain_text(data.admin)
    expect(page.locator("#tx-receipt")).to_contain_text("SUCCESS")
    expect(page.locator("#contract-results")).to_contain_text("true")
    expect(page.locator(".events-table")).to_contain_text("Transfer")
    page.goto(f"/explorer/tx/{data.write_tx}")
    operations = page.locator("#tx-operations .operation")
    expect(operations).to_have_count(2)
    expect(operations.nth(0)).to_contain_text("RegisterDataAccount")
    expect(operations.nth(1)).to_contain_text("“packed”")
    operations.nth(1).get_by_role("link", name="po-1").click()
    expect(page).to_have_url(re.compile(r"/explorer/accounts/orders/keys/po-1$"))


def test_key_page_shows_value_version_and_full_history(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/accounts/orders/keys/po-1")
    expect(page.locator("#entry-value")).to_have_text("shipped")
    expect(page.locator("#entry-version")).to_have_text("1")
    history = page.locator("#entry-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("shipped")
    expect(history.nth(1)).to_contain_text("packed")
    expect(history.nth(1)).to_contain_text(explorer.data.write_tx[:16])
    page.goto("/explorer/accounts/orders")
    expect(page.locator("#account-facts")).to_contain_text(explorer.data.admin)


def test_validators_page_shows_each_validator_and_its_status(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/validators")
    row = page.locator(f"#v-{explorer.data.validator}")
    expect(row).to_contain_text(explorer.data.validator)
    expect(row.locator(".validator-status")).to_have_text("signing")
    expect(page.locator("#validator-list tbody tr")).to_have_count(1)


def test_events_page_lists_recent_events_and_filters_by_account_and_topic(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/events")
    rows = page.locator(".event-row")
    expect(page.locator(".events-table")).to_contain_text("“hot”")
    expect(page.locator(".events-table")).to_contain_text("Transfer")
    page.fill("#event-filter input[name=account]", "alerts")
    page.click("#event-filter button")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-topic", "temp")
    page.goto("/explorer/events?topic=Transfer")
    expect(rows).to_have_count(2)  # init and transfer
    for account in rows.evaluate_all("rows => rows.map(r => r.dataset.account)"):
        assert account == "contract:gold"


def test_user_and_contract_pages(page: Any, explorer: Explorer) -> None:
    page.goto(f"/explorer/users/{explorer.data.admin}")
    expect(page.locator("#user-facts")).to_contain_text("ADMIN")
    page.goto("/explorer/contracts/gold")
    expect(page.locator("#contract-facts")).to_contain_text("NORMAL")
    expect(page.locator("pre.ir")).to_contain_text("(contract")
