"""Proposal pacing: the node spaces its proposals further apart only while its execution lags."""
from __future__ import annotations

from chain.node.bft_engine import paced_interval


def test_the_node_spaces_proposals_further_apart_only_while_execution_lags() -> None:
    assert [paced_interval(250, b) for b in range(7)] == [250, 250, 250, 500, 750, 1_000, 1_000]
