"""Mempool: admitted transactions waiting for a block or a batch; each is checked once, on arrival.

Admission decodes the bytes canonically, checks limits, ledger and expiry,
verifies every signature (in batches, over the process pool when large), drops
duplicates, and queues the transaction under its sender (the first endorser's
public key). `take` serves senders round-robin, one transaction per sender per
turn and FIFO within a sender, so a sender that floods the pool delays only
itself. Room is bounded twice: per sender (`sender_quota`) and in total
(`capacity`). A valid transaction turned away for lack of room gets
`ResultCode.MEMPOOL_FULL` with a stable `Refusal` (`busy` or `sender_quota`) and
a `retry_after_ms` hint: the time the backlog in front of it would take to
drain at the rate the pool drained over the last `rate_window_ms`.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Sequence

from chain.crypto import CryptoSuite
from chain.ledger.chain_store import Candidate
from chain.ledger.errors import Rejection, ResultCode
from chain.ledger.execution.context import BlockContext
from chain.ledger.execution.executor import check_static
from chain.ledger.model import LedgerSettings
from chain.ledger.transaction import Transaction

Verifier = Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]]
Clock = Callable[[], float]

DEFAULT_CAPACITY = 10_000
DEFAULT_SENDER_QUOTA = 1_000
RATE_WINDOW_MS = 10_000
MIN_RETRY_MS = 50
MAX_RETRY_MS = 30_000
IDLE_RETRY_MS = 1_000


def monotonic_ms() -> float:
    """The default clock: monotonic milliseconds."""
    return time.monotonic() * 1000.0


class Refusal(StrEnum):
    """Why a valid transaction was turned away for lack of room (both carry ResultCode.MEMPOOL_FULL)."""

    BUSY = "busy"
    SENDER_QUOTA = "sender_quota"


@dataclass(frozen=True)
class Admission:
    """The verdict on one submitted transaction; `refusal` and `retry_after_ms` are set only for MEMPOOL_FULL."""

    tx_hash: bytes | None
    accepted: bool
    code: ResultCode
    message: str = ""
    refusal: Refusal | None = None
    retry_after_ms: int | None = None


class DrainRate:
    """Transactions taken per millisecond over a sliding window (deterministic given the clock readings)."""

    def __init__(self, window_ms: int = RATE_WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def record(self, now_ms: float, count: int) -> None:
        """Note that count transactions left the pool (negative when they were put back)."""
        if count:
            self._events.append((now_ms, count))
            self._total += count
        self._expire(now_ms)

    def per_ms(self, now_ms: float) -> float:
        """Net transactions drained in the window, divided by the window length."""
        self._expire(now_ms)
        return max(self._total, 0) / self.window_ms

    def _expire(self, now_ms: float) -> None:
        horizon = now_ms - self.window_ms
        while self._events and self._events[0][0] <= horizon:
            self._total -= self._events.popleft()[1]


def retry_hint_ms(backlog: int, rate_per_ms: float) -> int:
    """How long `backlog` transactions take to drain at `rate_per_ms`, clamped to [MIN_RETRY_MS, MAX_RETRY_MS]."""
    if rate_per_ms <= 0:
        return IDLE_RETRY_MS
    return min(MAX_RETRY_MS, max(MIN_RETRY_MS, math.ceil(backlog / rate_per_ms)))


class Mempool:
    """Bounded, deduplicated, per-sender fair queue of verified transactions for one ledger."""

    def __init__(self, suite: CryptoSuite, ledger_id: bytes, verifier: Verifier, capacity: int = DEFAULT_CAPACITY,
                 *, sender_quota: int = DEFAULT_SENDER_QUOTA, clock: Clock = monotonic_ms,
                 rate_window_ms: int = RATE_WINDOW_MS) -> None:
        if capacity < 1 or sender_quota < 1:
            raise ValueError("capacity and sender_quota must be positive")
        self.suite = suite
        self.ledger_id = ledger_id
        self.verifier = verifier
        self.capacity = capacity
        self.sender_quota = sender_quota
        self.clock = clock
        # Senders with queued transactions, in serving order: the head is served next, then moves to the tail.
        self._queues: OrderedDict[bytes, deque[Candidate]] = OrderedDict()
        self._known: set[bytes] = set()
        self._size = 0
        self._drain = DrainRate(rate_window_ms)
        self._lock = threading.Lock()
        # Transactions this node accepted that left the pool but are not ordered yet (a BFT engine's own
        # batches): they count against the capacity, so "busy" comes before latency grows without bound.
        self.backlog: Callable[[], int] = lambda: 0

    def __len__(self) -> int:
        return self._size

    def senders(self) -> int:
        """How many senders have transactions waiting."""
        return len(self._queues)

    def queued(self, sender: bytes) -> int:
        """How many transactions of this sender (first endorser's public key) are waiting."""
        queue = self._queues.get(sender)
        return len(queue) if queue is not None else 0

    def admit(self, encoded: Sequence[bytes], *, height: int, settings: LedgerSettings,
              committed: Callable[[bytes], bool], recovering: bool = False) -> list[Admission]:
        """Check and queue a batch of encoded transactions for the block after height; one verdict each, in order.

        `recovering` re-admits the node's own journal: those were accepted once, so neither the capacity
        nor the sender quota turns them away again.
        """
        parsed = [self._parse(raw, height, settings) for raw in encoded]
        txs = [p for p in parsed if isinstance(p, Transaction)]
        items = [item for tx in txs for item in tx.signature_items()]
        verdicts = iter(self.verifier(items))
        valid = {tx.hash: all([next(verdicts) for _ in tx.endorsements]) for tx in txs}
        results = []
        with self._lock:
            now = self.clock()
            for raw, item in zip(encoded, parsed):
                if isinstance(item, Admission):
                    results.append(item)
                else:
                    results.append(self._queue(item, raw, valid[item.hash], committed, recovering, now))
        return results

    def _parse(self, raw: bytes, height: int, settings: LedgerSettings) -> Transaction | Admission:
        """Decode and run the stateless checks, or say why not."""
        try:
            tx = Transaction.decode(self.suite, raw, settings.max_tx_bytes)
            check_static(tx, self.ledger_id, settings, BlockContext(self.suite, height + 1, 0), len(raw))
        except Rejection as rejection:
            return Admission(None, False, rejection.result, str(rejection))
        return tx

    def _queue(self, tx: Transaction, raw: bytes, signatures_valid: bool, committed: Callable[[bytes], bool],
               recovering: bool, now: float) -> Admission:
        if not signatures_valid:
            return Admission(tx.hash, False, ResultCode.BAD_SIGNATURE, "an endorsement signature does not verify")
        if tx.hash in self._known or committed(tx.hash):
            return Admission(tx.hash, False, ResultCode.DUPLICATE, "this transaction is already pending or committed")
        sender = tx.endorsements[0].public_key
        queue = self._queues.get(sender)
        if not recovering:
            refused = self._room(queue, now)
            if refused is not None:
                return Admission(tx.hash, False, ResultCode.MEMPOOL_FULL, refused[1], refused[0], refused[2])
        if queue is None:
            queue = self._queues[sender] = deque()
        queue.append(Candidate(tx, raw, True))
        self._known.add(tx.hash)
        self._size += 1
        return Admission(tx.hash, True, ResultCode.SUCCESS)

    def _room(self, queue: deque[Candidate] | None, now: float) -> tuple[Refusal, str, int] | None:
        """None if one more transaction of this sender fits, else (refusal, message, retry_after_ms)."""
        mine = len(queue) if queue is not None else 0
        if mine >= self.sender_quota:
            # Round-robin serves this sender once per turn of all senders: its queue drains at least that fast.
            wait = retry_hint_ms(min(mine * len(self._queues), self._size), self._drain.per_ms(now))
            return (Refusal.SENDER_QUOTA, f"sender_quota: this sender already has {mine} transactions waiting "
                    f"(the limit); retry after {wait} ms", wait)
        waiting = self._size + self.backlog()
        if waiting >= self.capacity:
            wait = retry_hint_ms(waiting, self._drain.per_ms(now))
            return (Refusal.BUSY, f"busy: {waiting} transactions are waiting here (the limit is {self.capacity}); "
                    f"retry after {wait} ms", wait)
        return None

    def take(self, limit: int, max_bytes: int | None = None) -> list[Candidate]:
        """Up to limit candidates, round-robin across senders (FIFO within a sender).

        With max_bytes, stop before the encoded total would exceed it (the first candidate is always taken).
        The rotation persists across calls: the sender after the last one served is served first next time.
        """
        out: list[Candidate] = []
        used = 0
        with self._lock:
            queues = self._queues
            while len(out) < limit and queues:
                sender = next(iter(queues))
                queue = queues[sender]
                size = len(queue[0].encoded)
                if max_bytes is not None and out and used + size > max_bytes:
                    break
                out.append(queue.popleft())
                used += size
                if queue:
                    queues.move_to_end(sender)
                else:
                    del queues[sender]
            self._size -= len(out)
            self._drain.record(self.clock(), len(out))
        return out

    def forget(self, tx_hashes: Sequence[bytes]) -> None:
        """Drop hashes from the duplicate filter once their fate is settled (committed or rejected)."""
        with self._lock:
            self._known.difference_update(tx_hashes)

    def requeue(self, candidates: Sequence[Candidate]) -> None:
        """Put back candidates that a block could not take, at the front (beyond the quotas: they were admitted)."""
        with self._lock:
            for cand in reversed(candidates):
                sender = cand.tx.endorsements[0].public_key
                queue = self._queues.get(sender)
                if queue is None:
                    queue = self._queues[sender] = deque()
                queue.appendleft(cand)
                self._queues.move_to_end(sender, last=False)
                self._size += 1
            self._drain.record(self.clock(), -len(candidates))
