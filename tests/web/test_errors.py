"""Error pages: unknown things are a clear 404, restricted data a 403, a gateway that is down a 503; never a traceback."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.chain.node.conftest import free_port
from tests.web.conftest import Explorer
from web import create_app


@pytest.mark.parametrize(("path", "message"), [
    ("/explorer/blocks/999999", "There is no block 999999: the chain's head is block"),
    ("/explorer/blocks/abc", "'abc' is not a block height"),
    ("/explorer/tx/" + "ef" * 32, "There is no committed transaction " + "ef" * 32),
    ("/explorer/tx/xyz", "'xyz' is not a transaction hash"),
    ("/explorer/accounts/nope", "There is no data account 'nope'"),
    ("/explorer/accounts/orders/keys/nope", "Data account 'orders' has no key 'nope'"),
    ("/explorer/users/not-an-address", "There is no registered user"),
    ("/explorer/contracts/nope", "There is no contract 'nope'"),
    ("/explorer/no/such/page", "not found"),
])
def test_unknown_things_get_a_404_page(page: Any, explorer: Explorer, path: str, message: str) -> None:
    response = page.goto(path)
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
    expect(page.locator("#error-message")).to_contain_text(message)
    assert "Traceback" not in page.content()


def test_a_restricted_account_gets_a_403_page(page: Any, explorer: Explorer) -> None:
    response = page.goto("/explorer/accounts/secret/keys/k")
    assert response.status == 403
    expect(page.locator("#error-message")).to_contain_text("restricted")
    assert "hidden" not in page.content()


def test_a_gateway_that_is_down_gets_a_503_page() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = create_app(dead).test_client()
    for path in ("/explorer/", "/explorer/blocks/1", f"/explorer/tx/{'ab' * 32}", "/explorer/search?q=1",
                 "/explorer/proof?q=orders/po-1", "/explorer/stream"):
        response = client.get(path)
        assert response.status_code == 503, path
        text = response.get_data(as_text=True)
        assert f"The chain gateway at {dead} does not answer" in text and "Traceback" not in text, path
