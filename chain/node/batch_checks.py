"""Signature verdicts of received batches: checked here, or taken from f+1 members' attestations.

The engine holds each received batch decoded; its verdicts (does each
transaction's every endorsement verify?) come either from this node's own
check (pooled across cores) when it is one of the batch's attesters or must
execute the batch before a quorum of attestations arrived, or from f+1
matching attestations (chain.consensus.attestations). Both give the same
verdicts, so every node builds the same block.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from chain.consensus.attestations import AttestationBook, pack_verdicts, verdict_of
from chain.consensus.batches import Batch
from chain.crypto import CryptoSuite
from chain.ledger.chain_store import Candidate
from chain.ledger.transaction import Transaction

Verifier = Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]]


@dataclass(frozen=True)
class Decoded:
    """A batch's decodable transactions with their positions in it (undecodable ones never reach a block)."""

    size: int
    transactions: tuple[tuple[int, Transaction, bytes], ...]


def decode_batch(suite: CryptoSuite, batch: Batch, max_tx_bytes: int) -> Decoded:
    """Decode every transaction of a batch, skipping those that do not decode (alike on every node)."""
    out = []
    for i, raw in enumerate(batch.transactions):
        try:
            out.append((i, Transaction.decode(suite, raw, max_tx_bytes), raw))
        except Exception:
            continue
    return Decoded(len(batch.transactions), tuple(out))


def verify_batches(verifier: Verifier, batches: Sequence[Decoded]) -> list[tuple[list[Candidate], bytes]]:
    """Check all endorsements of several batches in one pooled call: candidates and packed verdicts per batch."""
    items = [item for d in batches for _, tx, _ in d.transactions for item in tx.signature_items()]
    results = iter(verifier(items))
    out = []
    for d in batches:
        verdicts = [False] * d.size
        candidates = []
        for i, tx, raw in d.transactions:
            ok = all([next(results) for _ in tx.endorsements])
            verdicts[i] = ok
            candidates.append(Candidate(tx, raw, ok))
        out.append((candidates, pack_verdicts(verdicts)))
    return out


def attested_candidates(decoded: Decoded, packed: bytes) -> list[Candidate]:
    """Candidates whose verdicts f+1 members attested."""
    return [Candidate(tx, raw, verdict_of(packed, i)) for i, tx, raw in decoded.transactions]


class BatchChecks:
    """Received batches awaiting verdicts, the attestation book of the epoch, and counts for operators."""

    def __init__(self) -> None:
        self.pending: dict[bytes, Decoded] = {}
        self.book = AttestationBook((), 0, lambda *_: False)
        self.counts: Counter[str] = Counter()

    def new_epoch(self, keys: Sequence[bytes], faults: int, verify: Callable[[bytes, bytes, bytes], bool]) -> None:
        """Attestations count per committee: start a new book (held batches keep waiting or get checked here)."""
        self.book = AttestationBook(keys, faults, verify)

    def settle(self, digest: bytes) -> list[Candidate] | None:
        """Candidates of a pending batch if f+1 members agree on its verdicts (it leaves pending), else None."""
        decoded = self.pending.get(digest)
        packed = self.book.settled(digest) if decoded is not None else None
        if decoded is None or packed is None:
            return None
        del self.pending[digest]
        self.counts["attested_txs"] += len(decoded.transactions)
        return attested_candidates(decoded, packed)

    def forget(self, digest: bytes) -> None:
        """The batch is executed or no longer held."""
        self.pending.pop(digest, None)
        self.book.forget(digest)

    def status(self) -> dict[str, int]:
        """Counts: transactions verified here or taken on attestation, fallbacks, held batches."""
        return {"verified_txs": self.counts["verified_txs"], "attested_txs": self.counts["attested_txs"],
                "attestations_sent": self.counts["attestations_sent"], "fallback_batches": self.counts["fallback_batches"],
                "pending_batches": len(self.pending)}
