"""Batches: encoding and digest, the bounded store with pins, the builder's cut rules, fetch retries."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.codec import encode
from chain.consensus.batches import (
    BATCH_DOMAIN, Batch, BatchBuilder, BatchError, BatchErrorCode, BatchRequest, BatchResponse, BatchStore,
    FetchTracker, StoreLimits, answer,
)
from chain.crypto import CLASSIC, SM

A, B, C = b"validator-a", b"validator-b", b"validator-c"


def batches(max_txs: int = 8) -> st.SearchStrategy[Batch]:
    """Any valid batch (possibly empty, which only the store refuses)."""
    return st.builds(Batch, author=st.binary(max_size=64), sequence=st.integers(0, 2**64 - 1),
                     transactions=st.lists(st.binary(max_size=64), max_size=max_txs).map(tuple))


def batch(author: bytes = A, sequence: int = 0, size: int = 10, txs: int = 1) -> Batch:
    """A batch whose transactions are `size` bytes each, distinct by author and sequence."""
    tag = author + sequence.to_bytes(8, "big") + b"/"
    return Batch(author, sequence, tuple(tag + bytes([i % 256]) + b"x" * size for i in range(txs)))


# -- encoding and digest ---------------------------------------------------------------


@given(batches())
def test_encoding_round_trips_and_digest_is_the_hash_of_domain_and_bytes(b: Batch) -> None:
    assert Batch.decode(b.encoded) == b
    assert b.encoded == encode([b.author, b.sequence, list(b.transactions)])
    assert b.digest(CLASSIC) == CLASSIC.digest(BATCH_DOMAIN + b.encoded)
    assert Batch(b.author, b.sequence, tuple(b.transactions)).digest(SM) == b.digest(SM)


@given(batches(), batches())
def test_distinct_batches_have_distinct_digests(x: Batch, y: Batch) -> None:
    assert (x.digest(CLASSIC) == y.digest(CLASSIC)) == (x == y)


def test_digest_vector() -> None:
    """Pinned bytes: another implementation reproduces these (docs/dissemination.md)."""
    b = Batch(b"\x01" * 4, 7, (b"tx",))
    assert b.encoded.hex() == "8344010101010781427478"
    assert b.digest(CLASSIC).hex() == "e443e2d5e24cd17733a192fef6a963912f12e343ba5c07ab47a0fbdf80cf6177"
    assert b.digest(SM).hex() == "7073d1f211ac86904fa9699d2ee65683c30e7ad56d093942329dc63964344c37"


@pytest.mark.parametrize("data", [
    bytes.fromhex("834401010101180781427478"),  # sequence 7 in a non-shortest head
    bytes.fromhex("834401010101078142747800"),  # a trailing byte
    bytes.fromhex("9f44010101010781427478ff"),  # indefinite-length array
    encode([b"a", 1]),  # two fields
    encode([b"a", -1, []]),  # negative sequence
    encode(["a", 1, []]),  # author as text
    encode([b"a", 1, [1]]),  # a transaction that is not bytes
    encode([b"a" * 65, 1, []]),  # author too long
    b"",
])
def test_non_canonical_or_misshapen_bytes_are_malformed(data: bytes) -> None:
    with pytest.raises(BatchError) as info:
        Batch.decode(data)
    assert info.value.code is BatchErrorCode.MALFORMED


def test_decode_limits_are_too_large() -> None:
    b = batch(txs=5, size=100)
    with pytest.raises(BatchError) as info:
        Batch.decode(b.encoded, max_bytes=b.size - 1)
    assert info.value.code is BatchErrorCode.TOO_LARGE
    with pytest.raises(BatchError) as info:
        Batch.decode(b.encoded, max_txs=4)
    assert info.value.code is BatchErrorCode.TOO_LARGE


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=10), st.lists(batches(), max_size=3))
def test_fetch_messages_round_trip(digests: list[bytes], bs: list[Batch]) -> None:
    request = BatchRequest(tuple(digests))
    assert BatchRequest.decode(request.encode()) == request
    response = BatchResponse(tuple(bs))
    assert BatchResponse.decode(response.encode()) == response


def test_requests_are_bounded() -> None:
    with pytest.raises(BatchError) as info:
        BatchRequest.decode(BatchRequest((b"d" * 32,) * 5).encode(), max_digests=4)
    assert info.value.code is BatchErrorCode.TOO_LARGE
    with pytest.raises(BatchError) as info:
        BatchRequest.decode(BatchRequest((b"d" * 65,)).encode())
    assert info.value.code is BatchErrorCode.MALFORMED


def test_answer_returns_held_batches_in_order_within_a_byte_budget() -> None:
    store = BatchStore(CLASSIC)
    d1, d2, d3 = (store.add(batch(A, i, size=100)) for i in range(3))
    assert answer(BatchRequest((d3, b"unknown", d1, d3)), store).batches == (store.get(d3), store.get(d1))
    one = store.get(d1)
    assert one is not None
    assert len(answer(BatchRequest((d1, d2, d3)), store, max_bytes=2 * one.size).batches) == 2
    assert len(answer(BatchRequest((d1, d2)), store, max_bytes=1).batches) == 1
    assert answer(BatchRequest(()), store).batches == ()


# -- store: validation -----------------------------------------------------------------


def refused(store: BatchStore, b: Batch, pusher: bytes | None = None) -> BatchErrorCode:
    with pytest.raises(BatchError) as info:
        store.add(b, pusher=pusher)
    return info.value.code


def test_add_get_and_duplicates() -> None:
    store = BatchStore(CLASSIC)
    b = batch()
    digest = store.add(b, pusher=A)
    assert digest == b.digest(CLASSIC) and store.get(digest) == b and digest in store and len(store) == 1
    assert store.bytes_held == b.size
    assert refused(store, b) is BatchErrorCode.DUPLICATE


def test_size_limits() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batch_bytes=500, max_batch_txs=3))
    assert refused(store, Batch(A, 0, ())) is BatchErrorCode.EMPTY
    assert refused(store, batch(txs=4)) is BatchErrorCode.TOO_LARGE
    assert refused(store, batch(size=600)) is BatchErrorCode.TOO_LARGE
    store.add(batch(txs=3, size=100))


def test_pushed_batches_come_from_their_author_with_increasing_sequences() -> None:
    store = BatchStore(CLASSIC)
    assert refused(store, batch(A, 5), pusher=B) is BatchErrorCode.WRONG_AUTHOR
    store.add(batch(A, 5), pusher=A)
    assert refused(store, batch(A, 5, size=11), pusher=A) is BatchErrorCode.STALE_SEQUENCE
    assert refused(store, batch(A, 4), pusher=A) is BatchErrorCode.STALE_SEQUENCE
    store.add(batch(A, 9), pusher=A)  # gaps are fine
    store.add(batch(A, 7))  # fetched by digest: content-addressed, any sequence
    store.add(batch(B, 0), pusher=B)  # sequences are per author


def test_add_encoded_refuses_non_canonical_bytes() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batch_bytes=100))
    with pytest.raises(BatchError) as info:
        store.add_encoded(batch().encoded + b"\x00")
    assert info.value.code is BatchErrorCode.MALFORMED
    with pytest.raises(BatchError) as info:
        store.add_encoded(batch(size=200).encoded)
    assert info.value.code is BatchErrorCode.TOO_LARGE
    assert store.add_encoded(batch().encoded, pusher=A) == batch().digest(CLASSIC)


# -- store: bounds, eviction, pins ------------------------------------------------------


def fill(store: BatchStore, n: int, author: bytes = A, size: int = 10) -> list[bytes]:
    return [store.add(batch(author, i, size=size)) for i in range(n)]


def test_count_bound_evicts_oldest_unpinned_first() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=3))
    d = fill(store, 5)
    assert [x in store for x in d] == [False, False, True, True, True] and len(store) == 3
    assert store.ready(set(), 10) == tuple(d[2:])


def test_byte_bound_evicts_until_the_new_batch_fits() -> None:
    one = batch(size=100).size
    store = BatchStore(CLASSIC, StoreLimits(max_bytes=3 * one))
    d = fill(store, 3, size=100)
    big = store.add(batch(B, 0, size=100 + one - 40))  # needs two batches' room
    assert d[0] not in store and d[1] not in store and d[2] in store and big in store
    assert store.bytes_held <= 3 * one


def test_pinned_batches_are_never_evicted_and_a_full_store_says_so() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=3))
    d = fill(store, 3)
    store.pin([d[0], d[2]])
    e = store.add(batch(B, 0))
    assert d[1] not in store and d[0] in store and d[2] in store and e in store
    store.pin([e])
    assert not store.has_room(10)
    assert refused(store, batch(B, 1)) is BatchErrorCode.STORE_FULL
    store.unpin([d[2]])  # its proposal was abandoned: evictable again
    store.add(batch(B, 1))
    assert d[2] not in store and d[0] in store


def test_pins_are_counted_and_may_precede_arrival() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=2))
    early = batch(C, 0)
    store.pin([early.digest(CLASSIC)])
    store.pin([early.digest(CLASSIC)])  # two proposals on two forks reference it
    store.add(early)
    fill(store, 3)
    assert early.digest(CLASSIC) in store
    store.unpin([early.digest(CLASSIC)])
    fill(store, 3, author=B)
    assert early.digest(CLASSIC) in store  # still pinned once
    store.release([early.digest(CLASSIC)])
    store.add(batch(C, 1))
    assert early.digest(CLASSIC) not in store


def test_release_marks_committed_evicted_first_and_never_missing() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=3))
    old, mid, new = fill(store, 3)
    store.pin([new])
    store.release([new])  # committed: pin dropped, first in line for eviction despite being newest
    assert store.ready(set(), 10) == (old, mid)
    store.add(batch(B, 0))
    assert new not in store and old in store
    assert store.missing([new, old, b"other", b"other"]) == (b"other",)
    assert refused(store, batch(A, 2)) is BatchErrorCode.DUPLICATE  # a committed batch does not come back


def test_a_proposal_is_bounded_by_the_block_size_in_transactions_not_only_in_batches() -> None:
    store = BatchStore(CLASSIC, block_txs=25)
    d = [store.add(batch(A, i, txs=10)) for i in range(4)]
    assert store.ready(set(), 64) == (d[0], d[1])  # a third batch would make 30 transactions
    assert store.ready({d[0]}, 64) == (d[1], d[2])
    big = BatchStore(CLASSIC, block_txs=5)
    only = big.add(batch(A, 0, txs=10))
    assert big.ready(set(), 64) == (only,)  # an oversized batch still goes, alone


def test_reopened_batches_are_proposable_again_after_their_block_was_voided() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=3))
    a, b = fill(store, 2)
    store.release([a, b])
    store.reopen([b, b"never held"])
    assert store.ready(set(), 10) == (b,)
    assert store.missing([a, b, b"never held"]) == (b"never held",)  # forgotten as committed, not held
    store.add(batch(B, 0))
    store.add(batch(B, 1))
    assert a not in store and b in store  # the committed one went first; the reopened one is an ordinary batch


def test_clearing_pins_makes_an_ended_epochs_proposals_evictable() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=2))
    d = fill(store, 2)
    store.pin(d)
    assert not store.has_room(10)
    store.clear_pins()
    store.add(batch(B, 0))
    assert d[0] not in store and d[1] in store


def test_own_batches_stay_until_committed() -> None:
    store = BatchStore(CLASSIC, StoreLimits(max_batches=2), own=A)
    mine = store.add(batch(A, 0), pusher=A)
    fill(store, 4, author=B)
    assert mine in store
    store.release([mine])
    store.add(batch(C, 0))
    assert mine not in store


def test_missing_and_ready() -> None:
    store = BatchStore(CLASSIC)
    d = fill(store, 4)
    assert store.missing([b"x", d[0], b"y", b"x"]) == (b"x", b"y")
    assert store.ready({d[0], d[2]}, 10) == (d[1], d[3])
    assert store.ready(set(), 2) == (d[0], d[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "pin", "unpin", "release", "reopen"]), st.integers(0, 11),
                          st.integers(1, 300)), max_size=60))
def test_bounds_and_pins_hold_under_any_sequence(ops: list[tuple[str, int, int]]) -> None:
    limits = StoreLimits(max_bytes=2_000, max_batches=5, max_batch_bytes=400)
    store = BatchStore(CLASSIC, limits, own=C)
    pins: dict[bytes, int] = {}
    released: set[bytes] = set()
    for op, i, size in ops:
        b = batch((A, B, C)[i % 3], i, size=size)
        digest = b.digest(CLASSIC)
        was_in = {d for d in pins if pins[d] > 0 and d in store}
        if op == "add":
            try:
                store.add(b)
            except BatchError as exc:
                assert exc.code in (BatchErrorCode.DUPLICATE, BatchErrorCode.STORE_FULL, BatchErrorCode.TOO_LARGE)
        elif op == "pin":
            store.pin([digest])
            pins[digest] = pins.get(digest, 0) + 1
        elif op == "reopen":
            store.reopen([digest])
            released.discard(digest)
        else:
            (store.unpin if op == "unpin" else store.release)([digest])
            pins[digest] = max(pins.get(digest, 0) - 1, 0)
            if op == "release":
                released.add(digest)
        for author in (A, B, C):  # the per-author count of unordered transactions stays exact
            ready = store.ready(set(), 100)
            assert store.unordered_txs(author) == sum(len(store._batches[d].transactions) for d in ready
                                                      if store._batches[d].author == author)
        assert store.bytes_held <= limits.max_bytes and len(store) <= limits.max_batches
        assert store.bytes_held == sum(x.size for x in store._batches.values())
        assert all(d in store for d in was_in if pins[d] > 0)  # pinned batches survive
        assert not set(store.ready(set(), 100)) & released


# -- builder ---------------------------------------------------------------------------


@dataclass
class Item:
    encoded: bytes


@dataclass
class Source:
    """A FIFO of encoded transactions with the mempool's take contract."""

    items: list[Item] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def take(self, limit: int, max_bytes: int | None = None) -> Sequence[Item]:
        out: list[Item] = []
        used = 0
        while self.items and len(out) < limit:
            size = len(self.items[0].encoded)
            if max_bytes is not None and out and used + size > max_bytes:
                break
            out.append(self.items.pop(0))
            used += size
        return out

    def put(self, n: int, size: int = 10) -> None:
        self.items.extend(Item(bytes([len(self.items) % 256]) * size) for _ in range(n))


def test_builder_cuts_at_max_txs_at_once() -> None:
    source = Source()
    builder = BatchBuilder(A, source, max_txs=5, max_delay_ms=100)
    source.put(12)
    first, second = builder.poll(0), builder.poll(0)
    assert first is not None and second is not None
    assert (len(first.transactions), len(second.transactions)) == (5, 5)
    assert (first.author, first.sequence, second.sequence) == (A, 0, 1)
    assert builder.poll(0) is None and builder.deadline_ms() == 100
    last = builder.poll(100)
    assert last is not None and len(last.transactions) == 2 and last.sequence == 2
    assert builder.deadline_ms() is None and builder.poll(500) is None


def test_builder_cuts_a_partial_batch_after_the_delay() -> None:
    source = Source()
    builder = BatchBuilder(A, source, max_txs=100, max_delay_ms=50, next_sequence=7)
    assert builder.poll(0) is None and builder.deadline_ms() is None
    source.put(3)
    assert builder.poll(10) is None and builder.deadline_ms() == 60
    source.put(2)
    assert builder.poll(59) is None
    cut = builder.poll(60)
    assert cut is not None and len(cut.transactions) == 5 and cut.sequence == 7
    source.put(1)
    assert builder.poll(70) is None and builder.deadline_ms() == 120  # the clock restarts with new work


def test_builder_keeps_batches_within_max_bytes() -> None:
    source = Source()
    builder = BatchBuilder(A, source, max_txs=50, max_bytes=2_000, max_delay_ms=0)
    source.put(50, size=100)
    cuts = list(iter(lambda: builder.poll(0), None))
    assert len(cuts) == 3 and all(c.size <= 2_000 for c in cuts)
    assert sum(len(c.transactions) for c in cuts) == 50
    store = BatchStore(CLASSIC, StoreLimits(max_batch_bytes=2_000))
    for c in cuts:
        store.add(c, pusher=A)


def test_builder_takes_from_the_real_mempool() -> None:
    from tests.chain.node.test_mempool import admit, pool, tx

    mp = pool()
    admit(mp, [tx(s, s) for s in range(7)])
    cut = BatchBuilder(A, mp, max_txs=5).poll(0)
    assert cut is not None and cut.transactions == tuple(tx(s, s) for s in range(5)) and len(mp) == 2


def test_builder_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        BatchBuilder(A, Source(), max_txs=0)
    with pytest.raises(ValueError):
        BatchBuilder(A, Source(), max_txs=1_000, max_bytes=1_000)


# -- fetching --------------------------------------------------------------------------


def test_fetch_asks_the_first_peer_then_another_after_the_timeout() -> None:
    tracker: FetchTracker[int] = FetchTracker(timeout_ms=100)
    tracker.want([b"d1", b"d2"], peers=[3, 1])
    assert tracker.requests(0) == [(3, (b"d1", b"d2"))]
    assert tracker.requests(50) == [] and tracker.next_deadline() == 100
    assert tracker.requests(100) == [(1, (b"d1", b"d2"))]
    tracker.received([b"d1"])
    assert tracker.requests(200) == [(3, (b"d2",))]  # round-robin wraps
    assert tracker.attempts(b"d2") == 3 and b"d1" not in tracker and len(tracker) == 1
    tracker.received([b"d2"])
    assert tracker.requests(1_000) == [] and tracker.next_deadline() is None


def test_not_found_moves_on_at_once_until_every_peer_said_no() -> None:
    tracker: FetchTracker[str] = FetchTracker(timeout_ms=100)
    tracker.want([b"d"], peers=["a", "b"])
    assert tracker.requests(0) == [("a", (b"d",))]
    tracker.not_found("b", [b"d"])  # not the peer we asked: ignored
    assert tracker.requests(1) == []
    tracker.not_found("a", [b"d"])
    assert tracker.next_deadline() == 0 and tracker.requests(2) == [("b", (b"d",))]
    tracker.not_found("b", [b"d"])  # nobody has it: wait for the timeout, no busy loop
    assert tracker.requests(3) == [] and tracker.next_deadline() == 102
    assert tracker.requests(102) == [("a", (b"d",))]


def test_more_peers_can_join_a_fetch() -> None:
    tracker: FetchTracker[int] = FetchTracker(timeout_ms=10)
    tracker.want([b"d"], peers=[1])
    tracker.requests(0)
    tracker.want([b"d", b"e"], peers=[2, 1])
    assert tracker.requests(0) == [(2, (b"e",))]
    assert tracker.requests(10) == [(2, (b"d",)), (1, (b"e",))]


def test_requests_are_split_at_the_digest_limit() -> None:
    tracker: FetchTracker[int] = FetchTracker(max_digests_per_request=2)
    tracker.want([b"1", b"2", b"3"], peers=[0])
    assert tracker.requests(0) == [(0, (b"1", b"2")), (0, (b"3",))]


def test_fetch_needs_a_peer() -> None:
    with pytest.raises(ValueError):
        FetchTracker().want([b"d"], peers=[])


def test_round_trip_through_request_answer_and_store() -> None:
    """Two stores: the one lacking a proposal's batches gets them through the fetch messages."""
    have, lack = BatchStore(CLASSIC), BatchStore(CLASSIC)
    digests = [have.add(batch(A, i), pusher=A) for i in range(3)]
    tracker: FetchTracker[bytes] = FetchTracker()
    tracker.want(lack.missing(digests), peers=[A])
    for peer, wanted in tracker.requests(0):
        request = BatchRequest.decode(BatchRequest(wanted).encode())
        response = BatchResponse.decode(answer(request, have).encode())
        for b in response.batches:
            lack.add(b)  # fetched: pusher None
        tracker.received(b.digest(CLASSIC) for b in response.batches)
    assert lack.missing(digests) == () and len(tracker) == 0
    assert [lack.get(d) for d in digests] == [have.get(d) for d in digests]
