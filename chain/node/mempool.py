"""Mempool: admitted transactions waiting for a block; each is checked once, on arrival.

Admission decodes the bytes canonically, checks limits, ledger and expiry,
verifies every signature (in batches, over the process pool when large), drops
duplicates, and keeps per-sender queues so one busy sender cannot starve others.
When full, it answers MEMPOOL_FULL with a retry hint instead of growing.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Sequence

from chain.crypto import CryptoSuite
from chain.ledger.chain_store import Candidate
from chain.ledger.errors import Rejection, ResultCode
from chain.ledger.execution.context import BlockContext
from chain.ledger.execution.executor import check_static
from chain.ledger.model import LedgerSettings
from chain.ledger.transaction import Transaction

Verifier = Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]]


@dataclass(frozen=True)
class Admission:
    """The verdict on one submitted transaction."""

    tx_hash: bytes | None
    accepted: bool
    code: ResultCode
    message: str = ""


class Mempool:
    """Bounded, deduplicated, per-sender fair queue of verified transactions for one ledger."""

    def __init__(self, suite: CryptoSuite, ledger_id: bytes, verifier: Verifier, capacity: int = 50_000) -> None:
        self.suite = suite
        self.ledger_id = ledger_id
        self.verifier = verifier
        self.capacity = capacity
        self._queues: OrderedDict[bytes, deque[Candidate]] = OrderedDict()
        self._known: set[bytes] = set()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def admit(self, encoded: Sequence[bytes], *, height: int, settings: LedgerSettings,
              committed: Callable[[bytes], bool]) -> list[Admission]:
        """Check and queue a batch of encoded transactions for the block after height; one verdict each, in order."""
        parsed: list[Transaction | Admission] = []
        next_block = BlockContext(self.suite, height + 1, 0)
        for raw in encoded:
            try:
                tx = Transaction.decode(self.suite, raw, settings.max_tx_bytes)
                check_static(tx, self.ledger_id, settings, next_block, len(raw))
                parsed.append(tx)
            except Rejection as rejection:
                parsed.append(Admission(None, False, rejection.result, str(rejection)))
        txs = [p for p in parsed if isinstance(p, Transaction)]
        items = [item for tx in txs for item in tx.signature_items()]
        verdicts = iter(self.verifier(items))
        valid = {tx.hash: all(next(verdicts) for _ in tx.endorsements) for tx in txs}
        results = []
        with self._lock:
            for raw, item in zip(encoded, parsed):
                if isinstance(item, Admission):
                    results.append(item)
                    continue
                results.append(self._queue(item, raw, valid[item.hash], committed))
        return results

    def _queue(self, tx: Transaction, raw: bytes, signatures_valid: bool, committed: Callable[[bytes], bool]) -> Admission:
        if not signatures_valid:
            return Admission(tx.hash, False, ResultCode.BAD_SIGNATURE, "an endorsement signature does not verify")
        if tx.hash in self._known or committed(tx.hash):
            return Admission(tx.hash, False, ResultCode.DUPLICATE, "this transaction is already pending or committed")
        if self._size >= self.capacity:
            return Admission(tx.hash, False, ResultCode.MEMPOOL_FULL, "busy: the mempool is full, retry after the next block")
        sender = tx.endorsements[0].public_key
        self._queues.setdefault(sender, deque()).append(Candidate(tx, raw, True))
        self._known.add(tx.hash)
        self._size += 1
        return Admission(tx.hash, True, ResultCode.SUCCESS)

    def take(self, limit: int) -> list[Candidate]:
        """Up to limit candidates, round-robin across senders (FIFO within a sender)."""
        out: list[Candidate] = []
        with self._lock:
            while len(out) < limit and self._queues:
                for sender in list(self._queues):
                    queue = self._queues[sender]
                    out.append(queue.popleft())
                    if not queue:
                        del self._queues[sender]
                    if len(out) >= limit:
                        break
            self._size -= len(out)
        return out

    def forget(self, tx_hashes: Sequence[bytes]) -> None:
        """Drop hashes from the duplicate filter once their fate is settled (committed or rejected)."""
        with self._lock:
            self._known.difference_update(tx_hashes)

    def requeue(self, candidates: Sequence[Candidate]) -> None:
        """Put back candidates that a block could not take (size limit), at the front."""
        with self._lock:
            for cand in reversed(candidates):
                sender = cand.tx.endorsements[0].public_key
                self._queues.setdefault(sender, deque()).appendleft(cand)
                self._queues.move_to_end(sender, last=False)
                self._size += 1
