"""The search box: each kind of query lands on its page; a miss says clearly what was not found."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Explorer


def _search(page: Any, query: str) -> Any:
    page.goto("/explorer/search")
    page.fill("#search-q", query)
    with page.expect_navigation():
        page.press("#search-q", "Enter")
    return page


@pytest.mark.parametrize("kind", ["height", "tx", "address", "account/key", "account", "contract", "validator"])
def test_search_finds_each_kind(page: Any, explorer: Explorer, kind: str) -> None:
    data = explorer.data
    query, url = {
        "height": (str(data.transfer_height), rf"/explorer/blocks/{data.transfer_height}$"),
        "tx": (data.transfer_tx.upper(), rf"/explorer/tx/{data.transfer_tx}$"),
        "address": (data.admin, rf"/explorer/users/{data.admin}$"),
        "account/key": ("orders/po-1", r"/explorer/accounts/orders/keys/po-1$"),
        "account": ("orders", r"/explorer/accounts/orders$"),
        "contract": ("gold", r"/explorer/contracts/gold$"),
        "validator": (data.validator, rf"/explorer/validators#v-{data.validator}$"),
    }[kind]
    _search(page, query)
    expect(page).to_have_url(re.compile(url))


@pytest.mark.parametrize(("query", "message"), [
    ("999999", "There is no block 999999"),
    ("ab" * 32, "There is no committed transaction"),
    ("orders/nope", "Data account 'orders' has no key 'nope'"),
    ("nobody/x", "There is no data account 'nobody'"),
    ("no-such-thing", "Nothing matches 'no-such-thing'"),
])
def test_search_misses_say_what_was_not_found(page: Any, explorer: Explorer, query: str, message: str) -> None:
    response = page.goto(f"/explorer/search?q={query}")
    assert response.status == 404
    expect(page.locator("#search-message")).to_contain_text(message)
