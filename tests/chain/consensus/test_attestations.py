"""Batch verdict attestations: packing, who attests, and the f+1 matching rule of the book."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from chain.consensus.attestations import (
    AttestationBook,
    BatchAttestation,
    attesters,
    pack_verdicts,
    verdict_of,
)
from chain.consensus.batches import BatchError
from chain.crypto import get_suite, verify_encoded

SUITE = get_suite("classic")
KEYS = [SUITE.generate_keypair().private for _ in range(4)]
MEMBERS = [k.public_key().encode() for k in KEYS]
DIGEST = b"\x11" * 32


def _attest(i: int, verdicts: bytes, digest: bytes = DIGEST) -> BatchAttestation:
    signature = KEYS[i].sign(BatchAttestation.signed_bytes(digest, verdicts)).encode()
    return BatchAttestation(digest, verdicts, MEMBERS[i], signature)


@given(st.lists(st.booleans(), max_size=300))
def test_packed_verdicts_round_trip(verdicts: list[bool]) -> None:
    packed = pack_verdicts(verdicts)
    assert len(packed) == (len(verdicts) + 7) // 8
    assert [verdict_of(packed, i) for i in range(len(verdicts))] == verdicts
    assert not verdict_of(packed, len(packed) * 8)


def test_the_f_members_after_the_author_attest_cyclically() -> None:
    assert attesters(3, 4, 1) == (0,)
    assert attesters(1, 4, 1) == (2,)
    assert attesters(5, 7, 2) == (6, 0)
    assert all(a != author for author in range(10) for a in attesters(author, 10, 3))


def test_f_plus_one_matching_attestations_settle_a_batch() -> None:
    book = AttestationBook(MEMBERS, 1, verify_encoded)
    valid = pack_verdicts([True, False, True])
    assert book.add(_attest(0, valid))
    assert book.settled(DIGEST) is None  # one member may lie
    assert book.add(_attest(1, valid))
    assert book.settled(DIGEST) == valid


def test_conflicting_verdicts_settle_nothing_until_a_quorum_agrees() -> None:
    book = AttestationBook(MEMBERS, 1, verify_encoded)
    assert book.add(_attest(0, pack_verdicts([True, True])))
    assert book.add(_attest(1, pack_verdicts([True, False])))
    assert book.settled(DIGEST) is None
    assert book.add(_attest(2, pack_verdicts([True, False])))
    assert book.settled(DIGEST) == pack_verdicts([True, False])


def test_a_member_counts_once_and_its_first_word_stands() -> None:
    book = AttestationBook(MEMBERS, 1, verify_encoded)
    assert book.add(_attest(0, pack_verdicts([True])))
    assert book.add(_attest(0, pack_verdicts([False])))  # ignored, not an error
    assert book.settled(DIGEST) is None
    assert book.add(_attest(1, pack_verdicts([False])))
    assert book.settled(DIGEST) is None  # member 0 said [True]; only one member said [False]


def test_non_members_and_forged_signatures_are_refused_and_kept_nowhere() -> None:
    book = AttestationBook(MEMBERS[:3], 1, verify_encoded)
    assert not book.add(_attest(3, pack_verdicts([True])))  # not in this committee
    forged = BatchAttestation(DIGEST, pack_verdicts([True]), MEMBERS[0], _attest(1, pack_verdicts([True])).signature)
    assert not book.add(forged)
    tampered = BatchAttestation(DIGEST, pack_verdicts([False]), MEMBERS[0], _attest(0, pack_verdicts([True])).signature)
    assert not book.add(tampered)
    assert len(book) == 0


def test_the_book_is_bounded() -> None:
    book = AttestationBook(MEMBERS, 1, lambda *_: True, capacity=10)
    for i in range(50):
        book.add(BatchAttestation(i.to_bytes(32, "big"), b"\x01", MEMBERS[0], b"sig"))
    assert len(book) == 10
    book.forget((49).to_bytes(32, "big"))
    assert len(book) == 9


def test_attestations_round_trip_and_oversized_fields_are_refused() -> None:
    att = _attest(2, pack_verdicts([True] * 20))
    assert BatchAttestation.decode(att.encode()) == att
    with pytest.raises(BatchError):
        BatchAttestation.decode(BatchAttestation(b"\x00" * 65, b"", MEMBERS[0], b"s").encode())
    with pytest.raises(BatchError):
        BatchAttestation.decode(b"\x84\x01\x02")
