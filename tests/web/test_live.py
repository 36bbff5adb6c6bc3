"""The home page follows new blocks live: the gateway's event stream, relayed by the explorer, read by EventSource."""
from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import expect

from chain.ledger.operations import WriteKV
from tests.web.conftest import Explorer


def test_a_new_block_appears_on_the_home_page_without_reloading(page: Any, explorer: Explorer) -> None:
    page.goto("/explorer/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    before = int(page.locator("#status-height").inner_text())
    outcome = explorer.client().send([WriteKV("orders", "live", b"now", None)])
    height = outcome["receipt"]["height"]
    assert height > before
    row = page.locator(f'#latest-blocks tbody tr[data-height="{height}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("1")
    expect(page.locator("#status-height")).to_have_text(str(height))
    expect(page.locator("#latest-blocks tbody tr").first).to_have_attribute("data-height", str(height))


def test_the_relay_resumes_after_the_last_event_id(explorer: Explorer) -> None:
    height = explorer.data.transfer_height
    with requests.get(f"{explorer.url}/explorer/stream", params={"types": "block"},
                      headers={"Last-Event-ID": f"{height - 1}:0"}, stream=True, timeout=10) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        lines = (line.decode() if isinstance(line, bytes) else line for line in response.iter_lines(decode_unicode=True))
        first_id = next(line for line in lines if line.startswith("id:"))
    assert first_id == f"id: {height}:0"
    bad = requests.get(f"{explorer.url}/explorer/stream", params={"types": "blocks"}, timeout=10)
    assert bad.status_code == 400
