"""Submitter: concurrent submissions go to the node in groups, several groups in flight, each caller gets its own."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chain.gateway.submitter import Submitter


class _SlowNode:
    """A node call that takes a while (its synced journal write) and records how many calls overlap."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.groups: list[int] = []
        self.fail_on = fail_on

    def __call__(self, method: str, ledger: str, transactions: list[bytes]) -> list[dict[str, Any]]:
        assert method == "submit" and ledger == "main"
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.groups.append(len(transactions))
        time.sleep(0.05)
        with self.lock:
            self.in_flight -= 1
        if self.fail_on in transactions:
            raise OSError("node connection lost")
        return [{"tx": tx} for tx in transactions]


def test_several_groups_are_in_flight_and_every_caller_gets_its_own_verdicts() -> None:
    node = _SlowNode()
    submitter = Submitter("main", node, senders=3)
    try:
        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(lambda i: submitter.submit([bytes([i]), bytes([i, i])]), range(48)))
    finally:
        submitter.close()
    assert results == [[{"tx": bytes([i])}, {"tx": bytes([i, i])}] for i in range(48)]
    assert node.peak == 3  # not one group at a time: a caller does not wait for others' fsyncs
    assert sum(node.groups) == 96 and len(node.groups) < 48  # and still coalesced


def test_a_failed_node_call_fails_exactly_the_callers_in_that_group() -> None:
    node = _SlowNode(fail_on=b"bad")
    submitter = Submitter("main", node, senders=1)
    try:
        with pytest.raises(OSError, match="connection lost"):
            submitter.submit([b"bad"])
        assert submitter.submit([b"good"]) == [{"tx": b"good"}]  # the sender lives on
    finally:
        submitter.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        submitter.submit([b"late"])
