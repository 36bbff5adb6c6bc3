"""Safety rules: when a replica may vote or time out (Jolteon / DiemBFT v4 two-chain rules).

The state is two numbers per epoch and is persisted before any vote or timeout
leaves the replica, so a restarted replica can never vote twice in a round or
vote against its lock.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from chain.consensus.bft.messages import Block, TimeoutCert


@dataclass(frozen=True)
class SafetyState:
    """Highest round voted or timed out in, and highest QC round seen in a block voted for."""

    epoch: int
    highest_vote_round: int
    highest_qc_round: int


def _consecutive(round: int, previous: int) -> bool:
    return round == previous + 1


def may_vote(state: SafetyState, block: Block, last_tc: TimeoutCert | None) -> bool:
    """Vote only once per round and only for a block that extends the previous round's QC, or after a TC, a QC at least as high as every lock in the TC."""
    if block.epoch != state.epoch or block.round <= state.highest_vote_round:
        return False
    qc_round = block.justify.round
    if _consecutive(block.round, qc_round):
        return True
    return last_tc is not None and _consecutive(block.round, last_tc.round) and qc_round >= last_tc.max_high_qc_round()


def after_vote(state: SafetyState, block: Block) -> SafetyState:
    """The state once the vote is cast."""
    return replace(state, highest_vote_round=block.round, highest_qc_round=max(state.highest_qc_round, block.justify.round))


def may_time_out(state: SafetyState, round: int, high_qc_round: int, last_tc: TimeoutCert | None) -> bool:
    """Time out with a QC no lower than any voted on, in a round entered through that QC or a TC."""
    if high_qc_round < state.highest_qc_round or round <= max(state.highest_vote_round - 1, high_qc_round):
        return False
    return _consecutive(round, high_qc_round) or (last_tc is not None and _consecutive(round, last_tc.round))


def after_timeout(state: SafetyState, round: int) -> SafetyState:
    """The state once the timeout is sent: no vote in this round any more."""
    return replace(state, highest_vote_round=max(state.highest_vote_round, round))
