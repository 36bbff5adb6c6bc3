"""Committee: quorum sizes, leader rotation, and QC/TC checks that refuse every kind of forgery."""
from __future__ import annotations

import pytest

from chain.consensus.bft.committee import Committee, SignatureCache
from chain.consensus.bft.errors import InvalidCertificate
from chain.consensus.bft.messages import QuorumCert, Signed, TimeoutCert, timeout_bytes, vote_bytes
from chain.crypto import Algorithm, PrivateKey

KEYS = [PrivateKey.generate(Algorithm.ECDSA_P256) for _ in range(4)]
COMMITTEE = Committee(0, tuple(k.public_key().encode() for k in KEYS))


def _qc(signers: list[int], key_of: dict[int, int] | None = None, round: int = 3) -> QuorumCert:
    message = vote_bytes(0, round, 2, b"b" * 32)
    votes = tuple(Signed(s, KEYS[(key_of or {}).get(s, s)].sign(message).encode()) for s in signers)
    return QuorumCert(0, round, 2, b"b" * 32, votes)


@pytest.mark.parametrize("n, f, quorum", [(1, 0, 1), (4, 1, 3), (5, 1, 4), (6, 1, 5), (7, 2, 5), (10, 3, 7)])
def test_quorums_intersect_in_an_honest_member(n: int, f: int, quorum: int) -> None:
    committee = Committee(0, tuple(bytes([i]) for i in range(n)))
    assert (committee.faults, committee.quorum) == (f, quorum)
    assert 2 * quorum - n >= f + 1


def test_leaders_rotate_over_every_member() -> None:
    assert sorted(COMMITTEE.leader(r) for r in range(8)) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert Committee(1, COMMITTEE.keys).leader(0) == 1


def test_a_quorum_of_valid_votes_is_a_qc() -> None:
    COMMITTEE.check_qc(_qc([0, 1, 3]))


@pytest.mark.parametrize("qc, words", [
    (_qc([0, 1]), "2 signatures; 3 are needed"),
    (_qc([0, 1, 1]), "counts a signer twice"),
    (_qc([0, 1, 2], key_of={2: 3}), "invalid signature from member 2"),
    (_qc([0, 1, 7], key_of={7: 0}), "invalid signature from member 7"),
])
def test_forged_or_short_qcs_are_refused(qc: QuorumCert, words: str) -> None:
    with pytest.raises(InvalidCertificate, match=words):
        COMMITTEE.check_qc(qc)


def test_a_qc_for_another_round_than_signed_is_refused() -> None:
    qc = _qc([0, 1, 2])
    with pytest.raises(InvalidCertificate):
        COMMITTEE.check_qc(QuorumCert(0, qc.round + 1, qc.height, qc.block_id, qc.votes))
    with pytest.raises(InvalidCertificate, match="epoch"):
        COMMITTEE.check_qc(QuorumCert(1, qc.round, qc.height, qc.block_id, qc.votes))


def _tc(rounds: list[int], claimed: list[int] | None = None) -> TimeoutCert:
    signatures = tuple(Signed(i, KEYS[i].sign(timeout_bytes(0, 5, r)).encode()) for i, r in enumerate(rounds))
    return TimeoutCert(0, 5, tuple(claimed or rounds), signatures)


def test_tc_keeps_each_signers_lock_and_refuses_a_changed_one() -> None:
    COMMITTEE.check_tc(_tc([4, 2, 3]))
    assert _tc([4, 2, 3]).max_high_qc_round() == 4
    with pytest.raises(InvalidCertificate, match="invalid signature"):
        COMMITTEE.check_tc(_tc([4, 2, 3], claimed=[4, 2, 4]))
    with pytest.raises(InvalidCertificate, match="not below"):
        COMMITTEE.check_tc(_tc([5, 2, 3]))


def test_signature_cache_answers_like_the_verifier_and_stays_bounded() -> None:
    calls: list[bytes] = []

    def verify(key: bytes, message: bytes, signature: bytes) -> bool:
        calls.append(message)
        return signature == b"ok"

    cache = SignatureCache(verify, capacity=2)
    assert cache(b"k", b"m1", b"ok") and cache(b"k", b"m1", b"ok")
    assert not cache(b"k", b"m2", b"no") and not cache(b"k", b"m2", b"no")
    assert calls == [b"m1", b"m2"]
    cache(b"k", b"m3", b"ok")
    cache(b"k", b"m1", b"ok")
    assert calls == [b"m1", b"m2", b"m3", b"m1"]
