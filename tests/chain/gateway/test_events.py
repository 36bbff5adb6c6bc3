"""Event streams: a subscriber dropped again and again under load still gets every event exactly once, in order."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

import requests

from chain.ledger.operations import PublishEvent, RegisterEventAccount
from chain.sdk import Client
from chain.sdk.client import _sse_items
from tests.chain.gateway.conftest import Stack

EVENTS = 150


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, data) of each server-sent event, keep-alive comments left out."""
    return ((event_id, data) for event_id, _, data in _sse_items(lines) if data is not None)


def test_reconnecting_subscriber_gets_every_event_exactly_once_in_order(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    assert client.send([RegisterEventAccount("feed")])["status"] == "committed"
    start = client.status()["height"] + 1
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for batch in range(EVENTS // 10):
                txs = [client.build([PublishEvent("feed", "t", bytes([batch, i]), None)]) for i in range(10)]
                assert all(r["accepted"] for r in client.submit(txs))
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    got: list[int] = []
    last_id: str | None = None
    reconnects = 0
    deadline = time.monotonic() + 90
    while len(got) < EVENTS and time.monotonic() < deadline:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        params = {"types": "event", "account": "feed"} | ({} if last_id else {"from_height": start})
        with requests.get(f"{stack.url}/v1/ledgers/main/events", params=params, headers=headers, stream=True,
                          timeout=(5, 30)) as response:
            assert response.status_code == 200
            for n, (event_id, item) in enumerate(_events(response.iter_lines(decode_unicode=True))):
                got.append(item["sequence"])
                last_id = event_id
                if n == 6 or len(got) >= EVENTS:  # drop the connection mid-stream after a few items
                    break
        reconnects += 1
    producer.join(timeout=60)
    assert not errors, errors
    assert got == list(range(EVENTS)), got[:20]
    assert reconnects >= EVENTS // 7


def test_sdk_subscription_resumes_from_its_checkpoint(stack: Stack, tmp_path: Path) -> None:
    client = Client(stack.url, key=stack.admin)
    client.send([RegisterEventAccount("ck")])
    first = client.status()["height"] + 1
    for i in range(6):
        client.send([PublishEvent("ck", "t", bytes([i]), None)])
    checkpoint = tmp_path / "feed.checkpoint"
    seen: list[int] = []
    stream = client.subscribe(types=("event",), account="ck", from_height=first, checkpoint=checkpoint)
    for _ in range(3):
        seen.append(next(stream)[1]["sequence"])
    next(stream)  # taken but the process "dies" before handling it: the checkpoint still names the third
    stream.close()
    resumed = client.subscribe(types=("event",), account="ck", checkpoint=checkpoint)
    for _ in range(3):
        seen.append(next(resumed)[1]["sequence"])
    resumed.close()
    assert seen == [0, 1, 2, 3, 4, 5]


def test_stream_items_describe_blocks_and_transactions(stack: Stack) -> None:
    client = Client(stack.url, key=stack.admin)
    outcome = client.send([RegisterEventAccount("desc")])
    height = outcome["receipt"]["height"]
    response = requests.get(f"{stack.url}/v1/ledgers/main/events", params={"from_height": height, "once": "1"},
                            timeout=30)
    items = [item for _, item in _events(iter(response.text.splitlines()))]
    assert items[0]["type"] == "block" and items[0]["height"] == height
    assert any(i["type"] == "transaction" and i["tx_hash"] == outcome["receipt"]["tx_hash"] for i in items)
    bad = requests.get(f"{stack.url}/v1/ledgers/main/events", headers={"Last-Event-ID": "x"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "Last-Event-ID"
