"""Transaction batches: spread to every validator apart from ordering, referenced by digest in proposals.

Dissemination (after Narwhal's workers and Jolteon's quorum-store) takes the
bulk of the bytes off the critical path: each validator cuts batches from its
own mempool (`BatchBuilder`) and pushes them to all others, every validator
keeps what it receives (`BatchStore`), a proposal carries only batch digests,
and a validator that lacks a referenced batch asks peers for it
(`FetchTracker`, `BatchRequest`/`BatchResponse`). Everything here is sans-IO:
no sockets, no tasks, no wall clock; time comes in as `now_ms` arguments.
The format, limits and protocol are specified in docs/dissemination.md.
"""
from __future__ import annotations

import heapq
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Generic, Hashable, Iterable, Protocol, Sequence, TypeVar

from chain.codec import CodecError, ErrorCode
from chain.codec.schema import from_cbor, to_cbor

log = logging.getLogger(__name__)

BATCH_DOMAIN = b"chain/batch/v1\x00"
MAX_AUTHOR_BYTES = 64
MAX_DIGEST_BYTES = 64
MAX_REQUEST_DIGESTS = 256
MIB = 1024 * 1024

P = TypeVar("P", bound=Hashable)
_T = TypeVar("_T")


class Hasher(Protocol):
    """What a batch digest needs from a crypto suite (`chain.crypto.CryptoSuite` fits)."""

    def digest(self, data: bytes) -> bytes:
        """Raw digest of data."""
        ...


class EncodedTransaction(Protocol):
    """What the builder needs from a mempool entry (`chain.ledger.chain_store.Candidate` fits)."""

    @property
    def encoded(self) -> bytes:
        """The transaction's canonical bytes."""
        ...


class TransactionSource(Protocol):
    """Where the builder takes transactions from (`chain.node.mempool.Mempool` fits)."""

    def __len__(self) -> int:
        """Transactions waiting."""
        ...

    def take(self, limit: int, max_bytes: int | None = None) -> Sequence[EncodedTransaction]:
        """Up to limit transactions whose encoded total stays within max_bytes (at least one)."""
        ...


# -- errors ---------------------------------------------------------------------------


class BatchErrorCode(StrEnum):
    """Stable reasons a batch or a dissemination message is refused."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    DUPLICATE = "duplicate"
    WRONG_AUTHOR = "wrong_author"
    STALE_SEQUENCE = "stale_sequence"
    STORE_FULL = "store_full"


class BatchError(Exception):
    """A batch or dissemination message the store refuses; `code` is a stable BatchErrorCode."""

    def __init__(self, code: BatchErrorCode, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code


# -- the batch ------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Encoded transactions cut by one validator; wire form [author, sequence, [tx, ...]]."""

    author: bytes
    sequence: int
    transactions: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.sequence < 2**64:
            raise ValueError("sequence must be in [0, 2**64)")
        if len(self.author) > MAX_AUTHOR_BYTES:
            raise ValueError(f"author must be at most {MAX_AUTHOR_BYTES} bytes")

    @cached_property
    def encoded(self) -> bytes:
        """Canonical bytes (deterministic CBOR array)."""
        return to_cbor(self)

    @property
    def size(self) -> int:
        """Length of the canonical encoding."""
        return len(self.encoded)

    def digest(self, suite: Hasher) -> bytes:
        """What proposals carry: the suite hash of BATCH_DOMAIN followed by the canonical bytes."""
        return suite.digest(BATCH_DOMAIN + self.encoded)

    @classmethod
    def decode(cls, data: bytes, *, max_bytes: int = 4 * MIB, max_txs: int = 10_000) -> Batch:
        """Parse bytes from a peer, refusing anything that is not one canonical batch within the limits."""
        if len(data) > max_bytes:
            raise BatchError(BatchErrorCode.TOO_LARGE, f"batch of {len(data)} bytes exceeds {max_bytes}")
        return _decode(cls, data, max_bytes, max_txs)


def _decode(cls: type[_T], data: bytes, max_bytes: int, max_items: int) -> _T:
    """from_cbor with codec failures turned into BatchError (too_large or malformed)."""
    try:
        return from_cbor(cls, data, max_size=max_bytes, max_items=max_items)
    except CodecError as exc:
        code = BatchErrorCode.TOO_LARGE if exc.code == ErrorCode.TOO_LARGE else BatchErrorCode.MALFORMED
        raise BatchError(code, f"not a canonical {cls.__name__}: {exc}") from None


# -- fetch protocol messages ----------------------------------------------------------


@dataclass(frozen=True)
class BatchRequest:
    """Ask a peer for the batches with these digests; wire form [[digest, ...]]."""

    digests: tuple[bytes, ...]

    def encode(self) -> bytes:
        """Canonical bytes."""
        return to_cbor(self)

    @classmethod
    def decode(cls, data: bytes, *, max_digests: int = MAX_REQUEST_DIGESTS) -> BatchRequest:
        """Parse a request, refusing more than max_digests digests or over-long digests."""
        request = _decode(cls, data, 16 + max_digests * (MAX_DIGEST_BYTES + 2), max_digests)
        if any(len(d) > MAX_DIGEST_BYTES for d in request.digests):
            raise BatchError(BatchErrorCode.MALFORMED, f"a digest is longer than {MAX_DIGEST_BYTES} bytes")
        return request


@dataclass(frozen=True)
class BatchResponse:
    """The requested batches the peer holds (possibly none); wire form [[batch, ...]]."""

    batches: tuple[Batch, ...]

    def encode(self) -> bytes:
        """Canonical bytes."""
        return to_cbor(self)

    @classmethod
    def decode(cls, data: bytes, *, max_bytes: int = 16 * MIB, max_txs: int = 10_000) -> BatchResponse:
        """Parse a response within a byte limit (each batch is still checked by BatchStore.add)."""
        return _decode(cls, data, max_bytes, max(max_txs, MAX_REQUEST_DIGESTS))


def answer(request: BatchRequest, store: BatchStore, max_bytes: int = 8 * MIB) -> BatchResponse:
    """The response to a peer's request: held batches in requested order, within max_bytes (at least one)."""
    found: list[Batch] = []
    used = 0
    for digest in dict.fromkeys(request.digests):
        batch = store.get(digest)
        if batch is None:
            continue
        if found and used + batch.size > max_bytes:
            break
        found.append(batch)
        used += batch.size
    return BatchResponse(tuple(found))


# -- the store ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLimits:
    """Budgets of a BatchStore: per batch and in total."""

    max_bytes: int = 256 * MIB
    max_batches: int = 10_000
    max_batch_bytes: int = 4 * MIB
    max_batch_txs: int = 10_000
    committed_memory: int = 100_000


class BatchStore:
    """Batches held by digest, bounded in bytes and count; pinned and own uncommitted ones are never evicted.

    A batch is *ready* (proposable) from arrival until it is released as committed. It is *evictable*
    when no uncommitted proposal pins it and it is not this validator's own uncommitted batch; eviction
    takes committed batches first, then the others, each oldest (by when it became evictable) first.
    """

    def __init__(self, suite: Hasher, limits: StoreLimits = StoreLimits(), *, own: bytes | None = None,
                 block_txs: int | None = None) -> None:
        self.suite = suite
        self.limits = limits
        self.own = own
        self.block_txs = block_txs  # what one proposal may carry in transactions (None: no bound)
        self._batches: dict[bytes, Batch] = {}
        self._bytes = 0
        self._ready: OrderedDict[bytes, None] = OrderedDict()
        self._ready_txs: dict[bytes, int] = {}  # author -> transactions in its ready batches (read from any thread)
        self._pins: dict[bytes, int] = {}
        self._settled: OrderedDict[bytes, None] = OrderedDict()  # committed, unpinned: evicted first
        self._unsettled: OrderedDict[bytes, None] = OrderedDict()  # uncommitted, unpinned, not own
        self._evictable_bytes = 0
        self._committed: OrderedDict[bytes, None] = OrderedDict()  # recent committed digests (held or not)
        self._last_sequence: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._batches)

    def __contains__(self, digest: object) -> bool:
        return digest in self._batches

    @property
    def bytes_held(self) -> int:
        """Encoded bytes of all held batches."""
        return self._bytes

    def get(self, digest: bytes) -> Batch | None:
        """The batch with this digest, if held."""
        return self._batches.get(digest)

    def missing(self, digests: Sequence[bytes]) -> tuple[bytes, ...]:
        """Those of digests neither held nor recently committed, in order, without repeats."""
        return tuple(d for d in dict.fromkeys(digests) if d not in self._batches and d not in self._committed)

    def ready(self, exclude: set[bytes], limit: int) -> tuple[bytes, ...]:
        """Held, uncommitted batches not in exclude, oldest first: what a leader may propose.

        At most `limit` batches and, with block_txs set, no more transactions than that in all
        (the first batch always goes, so an oversized one cannot block the queue).
        """
        out: list[bytes] = []
        txs = 0
        for digest in self._ready:
            if len(out) >= limit:
                break
            if digest in exclude:
                continue
            size = len(self._batches[digest].transactions)
            if out and self.block_txs is not None and txs + size > self.block_txs:
                break
            out.append(digest)
            txs += size
        return tuple(out)

    def unordered_txs(self, author: bytes) -> int:
        """Transactions in this author's held batches that no committed block has ordered yet (thread-safe read)."""
        return self._ready_txs.get(author, 0)

    def _make_ready(self, digest: bytes) -> None:
        batch = self._batches[digest]
        self._ready[digest] = None
        self._ready_txs[batch.author] = self._ready_txs.get(batch.author, 0) + len(batch.transactions)

    def _unready(self, digest: bytes) -> None:
        if self._ready.pop(digest, False) is None:
            batch = self._batches[digest]
            left = self._ready_txs[batch.author] - len(batch.transactions)
            if left:
                self._ready_txs[batch.author] = left
            else:
                del self._ready_txs[batch.author]

    def has_room(self, size: int) -> bool:
        """Whether a batch of size bytes would fit, counting what eviction could free."""
        free_bytes = self.limits.max_bytes - self._bytes + self._evictable_bytes
        free_count = self.limits.max_batches - len(self._batches) + len(self._settled) + len(self._unsettled)
        return size <= free_bytes and free_count >= 1

    def add(self, batch: Batch, *, pusher: bytes | None = None) -> bytes:
        """Keep a batch and return its digest, or raise BatchError.

        `pusher` is the authenticated peer that pushed the batch unsolicited (or this validator for its own):
        it must be the author, and an author's pushed sequence numbers must increase. A batch fetched by
        digest (pusher None) is content-addressed: only its limits are checked, its sequence is not.
        """
        self._check_limits(batch)
        digest = batch.digest(self.suite)
        if digest in self._batches or digest in self._committed:
            raise BatchError(BatchErrorCode.DUPLICATE, "this batch is already held or committed")
        if pusher is not None:
            self._check_push(batch, pusher)
        if not self.has_room(batch.size):
            raise BatchError(BatchErrorCode.STORE_FULL, "the batch store is full of pinned or own uncommitted batches")
        self._make_room(batch.size)
        self._batches[digest] = batch
        self._bytes += batch.size
        self._make_ready(digest)
        if pusher is not None:
            self._last_sequence[batch.author] = batch.sequence
        self._place(digest)
        return digest

    def add_encoded(self, data: bytes, *, pusher: bytes | None = None) -> bytes:
        """Decode a batch from a peer's bytes (canonical only) and add it."""
        return self.add(Batch.decode(data, max_bytes=self.limits.max_batch_bytes, max_txs=self.limits.max_batch_txs),
                        pusher=pusher)

    def _check_limits(self, batch: Batch) -> None:
        if not batch.transactions:
            raise BatchError(BatchErrorCode.EMPTY, "a batch needs at least one transaction")
        if len(batch.transactions) > self.limits.max_batch_txs:
            raise BatchError(BatchErrorCode.TOO_LARGE,
                             f"{len(batch.transactions)} transactions; the limit is {self.limits.max_batch_txs}")
        if batch.size > self.limits.max_batch_bytes:
            raise BatchError(BatchErrorCode.TOO_LARGE, f"{batch.size} bytes; the limit is {self.limits.max_batch_bytes}")

    def _check_push(self, batch: Batch, pusher: bytes) -> None:
        if batch.author != pusher:
            raise BatchError(BatchErrorCode.WRONG_AUTHOR, "a pushed batch must come from its author")
        last = self._last_sequence.get(batch.author)
        if last is not None and batch.sequence <= last:
            raise BatchError(BatchErrorCode.STALE_SEQUENCE,
                             f"sequence {batch.sequence} does not follow this author's {last}")

    def _make_room(self, size: int) -> None:
        """Evict settled, then unsettled batches, oldest first, until size bytes and one slot are free."""
        while self._bytes + size > self.limits.max_bytes or len(self._batches) >= self.limits.max_batches:
            queue = self._settled if self._settled else self._unsettled
            digest, _ = queue.popitem(last=False)
            self._unready(digest)
            batch = self._batches.pop(digest)
            self._bytes -= batch.size
            self._evictable_bytes -= batch.size
            log.debug("evicted batch %s (%d bytes)", digest.hex()[:16], batch.size)

    def _place(self, digest: bytes) -> None:
        """Put a held batch in the eviction queue its state calls for, or in none (pinned, own uncommitted)."""
        batch = self._batches[digest]
        target: OrderedDict[bytes, None] | None
        if self._pins.get(digest):
            target = None
        elif digest not in self._ready:  # committed
            target = self._settled
        elif batch.author == self.own:
            target = None
        else:
            target = self._unsettled
        for queue in (self._settled, self._unsettled):
            if queue is not target and digest in queue:
                del queue[digest]
                self._evictable_bytes -= batch.size
        if target is not None and digest not in target:
            target[digest] = None
            self._evictable_bytes += batch.size

    def pin(self, digests: Iterable[bytes]) -> None:
        """Protect batches referenced by an uncommitted proposal from eviction (counted; held or not yet)."""
        for digest in digests:
            self._pins[digest] = self._pins.get(digest, 0) + 1
            if digest in self._batches:
                self._place(digest)

    def unpin(self, digests: Iterable[bytes]) -> None:
        """A proposal that pinned these was abandoned (pruned fork): drop one pin each."""
        for digest in digests:
            self._drop_pin(digest)
            if digest in self._batches:
                self._place(digest)

    def release(self, digests: Iterable[bytes]) -> None:
        """These batches were committed: drop one pin each; no longer proposable, evicted first once unpinned."""
        for digest in digests:
            self._drop_pin(digest)
            self._remember_committed(digest)
            if digest in self._batches:
                self._unready(digest)
                self._place(digest)

    def reopen(self, digests: Iterable[bytes]) -> None:
        """Committed batches whose block was discarded (ordered after its epoch ended): proposable again."""
        for digest in digests:
            self._committed.pop(digest, None)
            if digest in self._batches and digest not in self._ready:
                self._make_ready(digest)
                self._place(digest)

    def clear_pins(self) -> None:
        """An epoch ended: the proposals of its uncommitted blocks pin nothing any more."""
        pinned = [d for d in self._pins if d in self._batches]
        self._pins.clear()
        for digest in pinned:
            self._place(digest)

    def _drop_pin(self, digest: bytes) -> None:
        count = self._pins.get(digest, 0)
        if count > 1:
            self._pins[digest] = count - 1
        else:
            self._pins.pop(digest, None)

    def _remember_committed(self, digest: bytes) -> None:
        self._committed[digest] = None
        while len(self._committed) > self.limits.committed_memory:
            self._committed.popitem(last=False)


# -- the builder ----------------------------------------------------------------------


class BatchBuilder:
    """Cuts batches from a transaction source: at max_txs transactions, or max_delay_ms after work appeared."""

    def __init__(self, author: bytes, source: TransactionSource, *, max_txs: int = 500, max_bytes: int = 4 * MIB,
                 max_delay_ms: int = 50, next_sequence: int = 0) -> None:
        if max_txs < 1 or max_delay_ms < 0:
            raise ValueError("max_txs must be positive and max_delay_ms non-negative")
        self.author = author
        self.source = source
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.max_delay_ms = max_delay_ms
        self.next_sequence = next_sequence
        self._waiting_since: int | None = None
        # Room for the array heads, author and sequence, and a 5-byte head per transaction.
        self._tx_bytes = max_bytes - 32 - len(author) - 5 * max_txs
        if self._tx_bytes <= 0:
            raise ValueError("max_bytes leaves no room for transactions")

    def poll(self, now_ms: int) -> Batch | None:
        """A batch if one is due now (call on every arrival of transactions and at deadline_ms)."""
        waiting = len(self.source)
        if waiting == 0:
            self._waiting_since = None
            return None
        if self._waiting_since is None:
            self._waiting_since = now_ms
        if waiting < self.max_txs and now_ms - self._waiting_since < self.max_delay_ms:
            return None
        return self.cut(now_ms)

    def cut(self, now_ms: int) -> Batch | None:
        """A batch of whatever is waiting (up to the limits) regardless of the rules, or None if nothing is."""
        taken = self.source.take(self.max_txs, self._tx_bytes)
        self._waiting_since = now_ms if len(self.source) else None
        if not taken:
            return None
        batch = Batch(self.author, self.next_sequence, tuple(t.encoded for t in taken))
        self.next_sequence += 1
        return batch

    def deadline_ms(self) -> int | None:
        """When the delay rule will cut the waiting transactions (None if nothing waits)."""
        return None if self._waiting_since is None else self._waiting_since + self.max_delay_ms


# -- fetching -------------------------------------------------------------------------


@dataclass
class _Want(Generic[P]):
    """One digest being fetched: the peers that should have it, whom we asked last, and until when."""

    peers: list[P]
    next_peer: int = 0
    asked: P | None = None
    deadline: int | None = None
    attempts: int = 0
    declined: set[P] = field(default_factory=set)

    def pick(self) -> P:
        """The next peer in rotation that has not said it lacks the batch (all again once all have)."""
        if len(self.declined) >= len(self.peers):
            self.declined.clear()
        while True:
            peer = self.peers[self.next_peer % len(self.peers)]
            self.next_peer += 1
            if peer not in self.declined:
                return peer


class FetchTracker(Generic[P]):
    """Which batch digests are wanted from which peers; retries another peer after timeout_ms (sans-IO).

    Peers are tried in the order given (the proposal's author first, then others that vouched for it),
    round-robin. A peer that answers without the batch is skipped at once, unless every peer has done
    so: then the next round of asking waits for the timeout, so a batch nobody has costs one request per
    peer per timeout, not a busy loop.
    """

    def __init__(self, timeout_ms: int = 500, max_digests_per_request: int = MAX_REQUEST_DIGESTS) -> None:
        if timeout_ms < 1 or max_digests_per_request < 1:
            raise ValueError("timeout_ms and max_digests_per_request must be positive")
        self.timeout_ms = timeout_ms
        self.max_digests = max_digests_per_request
        self._wants: dict[bytes, _Want[P]] = {}
        self._due: OrderedDict[bytes, None] = OrderedDict()
        self._deadlines: list[tuple[int, int, bytes]] = []
        self._tick = 0

    def __len__(self) -> int:
        return len(self._wants)

    def __contains__(self, digest: object) -> bool:
        return digest in self._wants

    def attempts(self, digest: bytes) -> int:
        """How many requests for this digest have been sent."""
        want = self._wants.get(digest)
        return 0 if want is None else want.attempts

    def want(self, digests: Iterable[bytes], peers: Sequence[P]) -> None:
        """Fetch these digests from these peers (added to the peers of digests already wanted)."""
        if not peers:
            raise ValueError("a fetch needs at least one peer")
        for digest in digests:
            want = self._wants.get(digest)
            if want is None:
                self._wants[digest] = _Want(list(dict.fromkeys(peers)))
                self._due[digest] = None
            else:
                want.peers.extend(p for p in dict.fromkeys(peers) if p not in want.peers)

    def received(self, digests: Iterable[bytes]) -> None:
        """These batches arrived (from anyone) or are no longer needed: stop fetching them."""
        for digest in digests:
            if self._wants.pop(digest, None) is not None:
                self._due.pop(digest, None)

    def not_found(self, peer: P, digests: Iterable[bytes]) -> None:
        """peer answered without these batches: ask another peer now (or after the timeout if all said no)."""
        for digest in digests:
            want = self._wants.get(digest)
            if want is None or want.asked != peer or want.deadline is None:
                continue
            want.declined.add(peer)
            if len(want.declined) < len(want.peers):
                want.deadline = None
                self._due[digest] = None

    def requests(self, now_ms: int) -> list[tuple[P, tuple[bytes, ...]]]:
        """What to send now: (peer, digests) pairs, each at most max_digests long, in a stable order."""
        self._expire(now_ms)
        by_peer: dict[P, list[bytes]] = {}
        while self._due:
            digest, _ = self._due.popitem(last=False)
            want = self._wants[digest]
            peer = want.pick()
            want.asked, want.deadline = peer, now_ms + self.timeout_ms
            want.attempts += 1
            self._tick += 1
            heapq.heappush(self._deadlines, (want.deadline, self._tick, digest))
            by_peer.setdefault(peer, []).append(digest)
        return [(peer, tuple(ds[i:i + self.max_digests]))
                for peer, ds in by_peer.items() for i in range(0, len(ds), self.max_digests)]

    def next_deadline(self) -> int | None:
        """When requests() will next have something to resend (None if nothing is outstanding)."""
        if self._due:
            return 0
        while self._deadlines and not self._live(self._deadlines[0]):
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def _live(self, entry: tuple[int, int, bytes]) -> bool:
        want = self._wants.get(entry[2])
        return want is not None and want.deadline == entry[0]

    def _expire(self, now_ms: int) -> None:
        """Move digests whose request timed out back to due."""
        while self._deadlines and self._deadlines[0][0] <= now_ms:
            entry = heapq.heappop(self._deadlines)
            if self._live(entry):
                self._wants[entry[2]].deadline = None
                self._due[entry[2]] = None
