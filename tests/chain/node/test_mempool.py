"""Mempool: admission verdicts, per-sender fairness, sender quota, busy with a retry hint, scale."""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import pytest

from chain.crypto import CLASSIC, BatchVerifier
from chain.ledger.errors import ResultCode
from chain.ledger.model import LedgerSettings
from chain.ledger.operations import WriteKV
from chain.ledger.transaction import Endorsement, Transaction, TxContent
from chain.node.mempool import IDLE_RETRY_MS, MAX_RETRY_MS, MIN_RETRY_MS, Admission, Mempool, Refusal, retry_hint_ms

LEDGER = b"L" * 32
SETTINGS = LedgerSettings("test", "classic")
PREFIX = CLASSIC.signature_algorithm.prefix


@dataclass
class FakeClock:
    """Milliseconds that only move when a test says so."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def key(sender: int) -> bytes:
    """A fake public key with the suite's prefix (the fake verifier never parses it)."""
    return PREFIX + sender.to_bytes(4, "big")


def tx(sender: int, n: int, *, signatures: tuple[bytes, ...] = (b"ok",), expiry: int = 100) -> bytes:
    """Encoded transaction number n of a sender; extra signatures come from keys sender+1, sender+2, ..."""
    content = TxContent(LEDGER, n.to_bytes(8, "big"), expiry, (WriteKV("acct", "k", b"v", None),))
    endorsements = tuple(Endorsement(key(sender + i), sig) for i, sig in enumerate(signatures))
    return Transaction(content, endorsements, CLASSIC.digest(content.encode())).encode()


def fake_verify(items: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """Every signature is valid except b"bad"."""
    return [sig != b"bad" for _, _, sig in items]


def pool(**kwargs: object) -> Mempool:
    return Mempool(CLASSIC, LEDGER, fake_verify, **kwargs)  # type: ignore[arg-type]


def admit(mp: Mempool, raws: list[bytes], **kwargs: object) -> list[Admission]:
    return mp.admit(raws, height=1, settings=SETTINGS, committed=lambda h: False, **kwargs)  # type: ignore[arg-type]


def senders_of(candidates: list) -> list[bytes]:  # type: ignore[type-arg]
    return [c.tx.endorsements[0].public_key for c in candidates]


# -- admission (unchanged behaviour) ---------------------------------------------------


def test_admission_verdicts_in_order() -> None:
    mp = pool()
    raws = [tx(1, 1), b"\x00garbage", tx(1, 1), tx(2, 2, signatures=(b"bad",)), tx(3, 3, expiry=0)]
    verdicts = admit(mp, raws)
    assert [v.code for v in verdicts] == [ResultCode.SUCCESS, ResultCode.MALFORMED, ResultCode.DUPLICATE,
                                          ResultCode.BAD_SIGNATURE, ResultCode.EXPIRED]
    assert [v.accepted for v in verdicts] == [True, False, False, False, False]
    assert all(v.refusal is None and v.retry_after_ms is None for v in verdicts)
    assert len(mp) == 1


def test_each_transaction_reads_its_own_signature_verdicts() -> None:
    """A bad first endorsement must not shift the verdicts of the next transaction."""
    mp = pool()
    verdicts = admit(mp, [tx(1, 1, signatures=(b"bad", b"ok")), tx(10, 2, signatures=(b"bad",)), tx(20, 3)])
    assert [v.code for v in verdicts] == [ResultCode.BAD_SIGNATURE, ResultCode.BAD_SIGNATURE, ResultCode.SUCCESS]


def test_real_signatures_are_verified_in_a_batch() -> None:
    signer = CLASSIC.generate_keypair().private
    content = TxContent(LEDGER, b"n1", 100, (WriteKV("acct", "k", b"v", None),))
    good = Transaction.create(CLASSIC, content, [signer])
    other = TxContent(LEDGER, b"n2", 100, (WriteKV("acct", "k", b"v", None),))
    wrong = Transaction(other, good.endorsements, CLASSIC.digest(other.encode()))  # signature over another hash
    with BatchVerifier(workers=0) as verifier:
        mp = Mempool(CLASSIC, LEDGER, verifier.verify)
        verdicts = admit(mp, [good.encode(), wrong.encode()])
    assert [v.code for v in verdicts] == [ResultCode.SUCCESS, ResultCode.BAD_SIGNATURE]
    assert mp.take(10)[0].signatures_valid


def test_forget_lets_a_settled_hash_in_again_and_committed_ones_stay_out() -> None:
    mp = pool()
    first = admit(mp, [tx(1, 1)])[0]
    mp.take(1)
    assert admit(mp, [tx(1, 1)])[0].code is ResultCode.DUPLICATE
    mp.forget([first.tx_hash])  # type: ignore[list-item]
    assert mp.admit([tx(1, 1)], height=1, settings=SETTINGS,
                    committed=lambda h: h == first.tx_hash)[0].code is ResultCode.DUPLICATE
    assert admit(mp, [tx(1, 1)])[0].accepted


# -- fairness --------------------------------------------------------------------------


def test_a_flooding_sender_does_not_starve_quiet_ones() -> None:
    mp = pool()
    assert all(v.accepted for v in admit(mp, [tx(0, n) for n in range(900)]))  # the flood arrives first
    quiet = [tx(100 + s, 1000 + 10 * s + i) for s in range(10) for i in range(5)]
    quiet_hashes = {v.tx_hash for v in admit(mp, quiet)}
    first_takes = mp.take(20) + mp.take(20) + mp.take(15)  # five turns of the 11 senders
    assert quiet_hashes <= {c.tx.hash for c in first_takes}
    assert senders_of(first_takes).count(key(0)) == 5  # the flooder got one transaction per turn
    assert len(mp) == 895


def test_fifo_within_a_sender() -> None:
    mp = pool()
    hashes = [v.tx_hash for v in admit(mp, [tx(1, n) for n in range(5)])]
    admit(mp, [tx(2, 100 + n) for n in range(5)])
    assert [c.tx.hash for c in mp.take(10) if c.tx.endorsements[0].public_key == key(1)] == hashes


def test_rotation_persists_across_takes() -> None:
    """With more senders than a take's limit, every sender is served once before any is served twice."""
    mp = pool()
    admit(mp, [tx(s, 100 * s + i) for s in range(10) for i in range(3)])
    served = [s for _ in range(10) for s in senders_of(mp.take(3))]
    assert served[:10] == [key(s) for s in range(10)]
    assert served[10:20] == [key(s) for s in range(10)]
    assert len(mp) == 0


def test_take_respects_a_byte_budget_but_always_takes_one() -> None:
    mp = pool()
    admit(mp, [tx(s, s) for s in range(5)])
    size = len(tx(0, 0))
    assert len(mp.take(10, max_bytes=2 * size + 1)) == 2
    assert len(mp.take(10, max_bytes=1)) == 1
    assert len(mp) == 2


def test_requeue_puts_candidates_back_in_front_in_order() -> None:
    mp = pool()
    admit(mp, [tx(s, 10 * s + i) for s in range(3) for i in range(2)])
    taken = mp.take(4)
    mp.requeue(taken)
    assert [c.tx.hash for c in mp.take(4)] == [c.tx.hash for c in taken]
    assert len(mp) == 2


# -- quotas and busy -------------------------------------------------------------------


def test_sender_quota_refuses_with_its_own_code_and_spares_others() -> None:
    mp = pool(sender_quota=5)
    verdicts = admit(mp, [tx(1, n) for n in range(7)] + [tx(2, 100)])
    assert [v.accepted for v in verdicts] == [True] * 5 + [False, False, True]
    refused = verdicts[5]
    assert refused.code is ResultCode.MEMPOOL_FULL and refused.refusal is Refusal.SENDER_QUOTA
    assert refused.message.startswith("sender_quota:") and refused.retry_after_ms == IDLE_RETRY_MS
    assert mp.queued(key(1)) == 5 and mp.senders() == 2
    mp.take(2)  # one of each sender
    assert admit(mp, [tx(1, 50)])[0].accepted


def test_full_pool_answers_busy_with_a_retry_hint_from_backlog_and_drain_rate() -> None:
    clock = FakeClock()
    mp = pool(capacity=10, clock=clock)
    admit(mp, [tx(s, s) for s in range(10)])
    busy = admit(mp, [tx(99, 99)])[0]
    assert (busy.accepted, busy.code, busy.refusal) == (False, ResultCode.MEMPOOL_FULL, Refusal.BUSY)
    assert busy.retry_after_ms == IDLE_RETRY_MS  # nothing drained yet: no rate to go by
    assert busy.message == f"busy: 10 transactions are waiting here (the limit is 10); retry after {IDLE_RETRY_MS} ms"
    clock.now = 1_000.0
    mp.take(4)  # 4 transactions drained in the 10 s window
    admit(mp, [tx(s, s) for s in range(10, 14)])
    clock.now = 2_000.0
    busy = admit(mp, [tx(99, 99)])[0]
    assert busy.retry_after_ms == 25_000  # 10 waiting at 4 per 10,000 ms
    assert busy.tx_hash is not None and busy.tx_hash not in {c.tx.hash for c in mp.take(100)}


def test_transactions_batched_but_not_yet_ordered_count_against_the_capacity() -> None:
    mp = pool(capacity=10)
    admit(mp, [tx(s, s) for s in range(6)])
    batched = mp.take(6)  # now in this node's own batches, waiting to be ordered
    mp.backlog = lambda: len(batched)
    verdicts = admit(mp, [tx(s, s) for s in range(10, 16)])
    assert [v.accepted for v in verdicts] == [True] * 4 + [False] * 2
    assert verdicts[-1].refusal is Refusal.BUSY and "10 transactions are waiting here" in verdicts[-1].message
    mp.backlog = lambda: 0  # ordered: room again
    assert admit(mp, [tx(20, 20)])[0].accepted


def test_retry_hint_is_deterministic_and_clamped() -> None:
    assert retry_hint_ms(0, 0.0) == IDLE_RETRY_MS
    assert retry_hint_ms(10, 1.0) == MIN_RETRY_MS
    assert retry_hint_ms(10**9, 0.001) == MAX_RETRY_MS
    assert retry_hint_ms(5_000, 1.0) == 5_000
    assert retry_hint_ms(5_001, 2.0) == 2_501


def test_drain_rate_forgets_old_takes_and_discounts_requeues() -> None:
    clock = FakeClock()
    mp = pool(capacity=4, clock=clock)
    admit(mp, [tx(s, s) for s in range(4)])
    taken = mp.take(4)
    mp.requeue(taken[:2])  # production failed for two: only two really drained
    admit(mp, [tx(s, s) for s in range(10, 12)])
    assert admit(mp, [tx(99, 99)])[0].retry_after_ms == 20_000  # 4 waiting at 2 per 10 s
    clock.now = 10_000.0
    assert admit(mp, [tx(99, 99)])[0].retry_after_ms == IDLE_RETRY_MS


def test_quota_hint_counts_the_turns_of_other_senders() -> None:
    clock = FakeClock()
    mp = pool(sender_quota=3, clock=clock)
    admit(mp, [tx(s, 10 * s + i) for s in range(4) for i in range(3)])
    mp.take(4)  # one of each: 4 drained in the window, 2 of each left
    assert admit(mp, [tx(0, 100)])[0].accepted  # sender 0 is back at its quota of 3
    refused = admit(mp, [tx(0, 101)])[0]
    assert refused.refusal is Refusal.SENDER_QUOTA
    # Its 3 need at most 3 turns of 4 senders = 12 takes, but only 9 wait in all: 9 at 4 per 10,000 ms.
    assert refused.retry_after_ms == 22_500


def test_recovery_is_not_turned_away() -> None:
    mp = pool(capacity=2, sender_quota=1)
    verdicts = admit(mp, [tx(1, n) for n in range(4)], recovering=True)
    assert all(v.accepted for v in verdicts) and len(mp) == 4


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        pool(capacity=0)
    with pytest.raises(ValueError):
        pool(sender_quota=0)


# -- scale -----------------------------------------------------------------------------


def test_admit_and_take_stay_fast_with_100k_queued_from_10k_senders() -> None:
    senders, total = 10_000, 100_000
    raws = [tx(n % senders, n) for n in range(total + 3_000)]
    mp = pool(capacity=200_000)

    def timed_ms(chunk: list[bytes]) -> float:
        """Admission time of a chunk, without a garbage-collection pause (not admission's cost) landing in it."""
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            assert all(v.accepted for v in admit(mp, chunk))
            return (time.perf_counter() - t0) * 1000
        finally:
            gc.enable()

    first_ms = timed_ms(raws[:1_000])
    for i in range(1_000, total, 10_000):
        admit(mp, raws[i:min(i + 10_000, total)])
    last_ms = min(timed_ms(raws[k:k + 1_000]) for k in range(total, total + 3_000, 1_000))  # best of 3: noise
    assert len(mp) == total + 3_000 and mp.senders() == senders
    # Per-transaction admission cost does not grow with the queue (generous bound for noisy machines).
    assert last_ms < 5 * first_ms + 50, (first_ms, last_ms)
    t0 = time.perf_counter()
    first = mp.take(senders)
    took = [first] + [mp.take(5_000) for _ in range(18)]
    take_s = time.perf_counter() - t0
    assert len(set(senders_of(first))) == senders  # one per sender before anyone gets a second turn
    assert sum(map(len, took)) == total and take_s < 2.0, take_s
