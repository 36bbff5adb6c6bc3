"""Deterministic simulator: many BFT replicas in one process over a seeded, faulty, partly Byzantine network.

`run_scenario(Scenario.from_seed(n))` is reproducible from the seed alone;
`python -m chain.consensus.simulator --seeds 0-4999` is the long mode.
"""
from __future__ import annotations

from chain.consensus.simulator.scenario import Outcome, Scenario, run_scenario

__all__ = ["Outcome", "Scenario", "run_scenario"]
