"""The deterministic simulator: >= 500 seeded scenarios keep agreement and identical state roots, and progress after healing.

Long mode: `pytest -m slow tests/chain/consensus/simulator` (5,000 seeds) or
`python -m chain.consensus.simulator --seeds 0-9999`. A failing seed
reproduces with `run_scenario(Scenario.from_seed(seed))`.
"""
from __future__ import annotations

import pytest

from chain.consensus.bft import block_tree
from chain.consensus.bft.messages import CertifiedBlock
from chain.consensus.simulator import Scenario, run_scenario
from chain.consensus.simulator.byzantine import BEHAVIOURS
from chain.consensus.simulator.network import Faults

GROUP = 10
DEFAULT_SEEDS = 500
LONG_SEEDS = 5_000


def _failures(seeds: range) -> list[str]:
    failures = []
    for seed in seeds:
        outcome = run_scenario(Scenario.from_seed(seed))
        if not outcome.ok:
            failures.append(f"seed {seed}: {outcome.violations[:3]}")
    return failures


@pytest.mark.parametrize("group", range(DEFAULT_SEEDS // GROUP))
def test_seeded_scenarios_are_safe_and_live(group: int) -> None:
    assert _failures(range(group * GROUP, (group + 1) * GROUP)) == []


@pytest.mark.slow
@pytest.mark.timeout(3_600)
@pytest.mark.parametrize("group", range(DEFAULT_SEEDS // GROUP, LONG_SEEDS // GROUP))
def test_long_mode_seeded_scenarios(group: int) -> None:
    assert _failures(range(group * GROUP, (group + 1) * GROUP)) == []


def test_the_default_seeds_cover_every_fault_and_behaviour() -> None:
    scenarios = [Scenario.from_seed(s) for s in range(DEFAULT_SEEDS)]
    behaviours = {kind for s in scenarios for _, kind in s.byzantine}
    assert behaviours == set(BEHAVIOURS)
    assert {s.size for s in scenarios} == {4, 5, 7}
    assert sum(1 for s in scenarios if s.crashes) > 100
    assert sum(1 for s in scenarios if s.faults.partitions) > 100
    assert sum(1 for s in scenarios if s.faults.drop_per_mille) > 100
    assert sum(1 for s in scenarios if s.faults.duplicate_per_mille) > 100
    assert sum(1 for s in scenarios if len(s.byzantine) == (s.size - 1) // 3 and s.byzantine) > 50


def test_a_seed_reproduces_the_same_run() -> None:
    first, second = run_scenario(Scenario.from_seed(33)), run_scenario(Scenario.from_seed(33))
    assert first.heights == second.heights and first.delivered == second.delivered


def test_a_quiet_network_commits_steadily() -> None:
    scenario = Scenario(7, 4, (), (), Faults(heal_ms=0), run_ms=8_000, batch_every_ms=20)
    outcome = run_scenario(scenario)
    assert outcome.ok and min(outcome.heights) > 50


def test_two_crashed_of_four_stop_commits_without_divergence_and_progress_resumes() -> None:
    scenario = Scenario(8, 4, (), ((1, 500), (2, 500)), Faults(heal_ms=3_000), run_ms=10_000, batch_every_ms=20)
    outcome = run_scenario(scenario)
    assert outcome.ok, outcome.violations
    while_down = [heights for t, heights in outcome.timeline if 1_500 <= t <= 3_000]
    assert len(set(while_down)) == 1, "no commits while only 2 of 4 run"
    assert outcome.committed_after_heal > 20


def test_the_checker_catches_an_unsafe_commit_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit on one QC instead of two: the simulator must see conflicting commits (so a real bug would fail)."""

    def one_chain(self: block_tree.BlockTree, block_id: bytes) -> list:  # type: ignore[type-arg]
        block = self._blocks.get(block_id)
        if block is None or block.height <= self.committed.height:
            return []
        chain = self._ancestry(block_id)
        if chain is None:
            return []
        self.committed, self.committed_id = chain[-1], block_id
        for b in chain:
            self._archive[b.height] = CertifiedBlock(b, self._qcs[block_id])
        return chain

    monkeypatch.setattr(block_tree.BlockTree, "_try_commit", one_chain)
    caught = [s for s in (20, 37, 76, 77, 81, 102, 144)
              if any("different block" in v for v in run_scenario(Scenario.from_seed(s)).violations)]
    assert len(caught) >= 4, caught


@pytest.mark.parametrize("first", range(1_000, 1_300, 60))
def test_a_whole_consortium_restart_resumes_from_the_voted_blocks(first: int) -> None:
    """Every validator crashes at the same instant (a full restart): the restored high QC's block is still held.

    Without the voted blocks kept with the round record, most of these crash
    instants stalled the cluster for good (the high QC named a block nobody had).
    """
    failures = []
    for crash_at in range(first, first + 60, 6):
        scenario = Scenario(seed=crash_at, size=4, byzantine=(), crashes=tuple((s, crash_at) for s in range(4)),
                            faults=Faults(heal_ms=crash_at + 40, max_delay_ms=10, stable_delay_ms=5),
                            run_ms=crash_at + 40 + 7_000, batch_every_ms=20)
        outcome = run_scenario(scenario)
        if not outcome.ok or outcome.committed_after_heal == 0:
            failures.append(f"crash at {crash_at} ms: {outcome.violations[:1]}")
    assert failures == []
