"""Safety rules: one vote per round, extend the previous round's QC or the highest lock a TC reports."""
from __future__ import annotations

from chain.consensus.bft.messages import Block, QuorumCert, Signed, TimeoutCert
from chain.consensus.bft.safety import SafetyState, after_timeout, after_vote, may_time_out, may_vote


def _block(round: int, qc_round: int, epoch: int = 0) -> Block:
    qc = QuorumCert(epoch, qc_round, qc_round, b"p", (Signed(0, b"s"),))
    return Block(epoch, round, qc_round + 1, b"p", qc, (), 1, 0)


def _tc(round: int, *high: int) -> TimeoutCert:
    return TimeoutCert(0, round, tuple(high), tuple(Signed(i, b"s") for i in range(len(high))))


def test_votes_for_a_block_that_extends_the_previous_rounds_qc() -> None:
    assert may_vote(SafetyState(0, 4, 3), _block(5, 4), None)


def test_never_votes_twice_in_a_round_or_in_an_earlier_one() -> None:
    state = after_vote(SafetyState(0, 4, 3), _block(5, 4))
    assert state.highest_vote_round == 5 and state.highest_qc_round == 4
    assert not may_vote(state, _block(5, 4), None)
    assert not may_vote(state, _block(4, 3), None)


def test_a_gap_needs_a_tc_for_the_previous_round() -> None:
    state = SafetyState(0, 4, 3)
    assert not may_vote(state, _block(7, 4), None)
    assert not may_vote(state, _block(7, 4), _tc(5, 4, 4, 4))
    assert may_vote(state, _block(7, 4), _tc(6, 4, 3, 2))


def test_after_a_tc_the_block_must_extend_the_highest_lock_reported() -> None:
    assert not may_vote(SafetyState(0, 4, 3), _block(7, 3), _tc(6, 4, 3, 2))


def test_other_epochs_are_refused() -> None:
    assert not may_vote(SafetyState(1, 0, 0), _block(1, 0, epoch=0), None)


def test_time_out_with_a_qc_no_lower_than_any_voted_on() -> None:
    state = after_vote(SafetyState(0, 0, 0), _block(5, 4))
    assert not may_time_out(state, 5, 3, None)
    assert may_time_out(state, 5, 4, None)
    assert after_timeout(state, 5).highest_vote_round == 5


def test_time_out_only_in_a_round_entered_through_a_qc_or_tc() -> None:
    state = SafetyState(0, 0, 0)
    assert not may_time_out(state, 6, 4, None)
    assert may_time_out(state, 6, 4, _tc(5, 4))


def test_no_vote_after_timing_out_the_round() -> None:
    state = after_timeout(SafetyState(0, 4, 4), 5)
    assert not may_vote(state, _block(5, 4), None)
