"""Batch verdict attestations: f+1 validators check a batch's signatures, the others take their word.

Every validator must know, for each transaction of an ordered batch, whether its
endorsement signatures verify: an invalid one is rejected and never enters the
block, and all nodes must reject the same ones. Checking every signature on
every node makes signature verification the largest cost of a validator
(n checks per transaction). Here the batch's author (who checked at admission)
and the f validators after it in committee order verify the batch and sign an
attestation of its verdicts; a validator holding f+1 matching attestations from
distinct members knows at least one came from an honest node, so the verdicts
are true, and skips the check (f+1 checks per transaction instead of n). A
validator that has no such quorum when it must execute the batch verifies it
itself, so a silent or lying attester costs time, never safety or liveness.
Sans-IO: the engine moves the messages. Specified in docs/dissemination.md.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

from chain.codec import CodecError
from chain.codec.schema import from_cbor, to_cbor
from chain.consensus.batches import MAX_DIGEST_BYTES, BatchError, BatchErrorCode

ATTESTATION_DOMAIN = b"chain/batch-verdicts/v1\x00"
MAX_KEY_BYTES = 128
MAX_SIGNATURE_BYTES = 160
MAX_VERDICT_BYTES = 10_000 // 8 + 1  # one bit per transaction of the largest batch

Verify = Callable[[bytes, bytes, bytes], bool]


def pack_verdicts(verdicts: Sequence[bool]) -> bytes:
    """One bit per transaction, first transaction in the lowest bit of the first byte."""
    out = bytearray((len(verdicts) + 7) // 8)
    for i, ok in enumerate(verdicts):
        if ok:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def verdict_of(packed: bytes, index: int) -> bool:
    """The verdict of transaction `index` in a packed bitmap (False beyond its end)."""
    byte = index >> 3
    return byte < len(packed) and bool(packed[byte] >> (index & 7) & 1)


def attesters(author: int, size: int, faults: int) -> tuple[int, ...]:
    """Committee indices that verify an author's batch besides the author: the f members after it, cyclically."""
    return tuple((author + k) % size for k in range(1, faults + 1))


@dataclass(frozen=True)
class BatchAttestation:
    """A validator's signed verdicts on one batch; wire form [digest, verdicts, key, signature]."""

    digest: bytes
    verdicts: bytes
    key: bytes
    signature: bytes

    @staticmethod
    def signed_bytes(digest: bytes, verdicts: bytes) -> bytes:
        """What the attester signs: the domain, the batch digest and the packed verdicts."""
        return ATTESTATION_DOMAIN + len(digest).to_bytes(1, "big") + digest + verdicts

    def encode(self) -> bytes:
        """Canonical bytes."""
        return to_cbor(self)

    @classmethod
    def decode(cls, data: bytes) -> BatchAttestation:
        """Parse an attestation from a peer, refusing anything over the field limits."""
        limit = MAX_DIGEST_BYTES + MAX_VERDICT_BYTES + MAX_KEY_BYTES + MAX_SIGNATURE_BYTES + 32
        try:
            att = from_cbor(cls, data, max_size=limit, max_items=4)
        except CodecError as exc:
            raise BatchError(BatchErrorCode.MALFORMED, f"not a canonical BatchAttestation: {exc}") from None
        if (len(att.digest) > MAX_DIGEST_BYTES or len(att.verdicts) > MAX_VERDICT_BYTES
                or len(att.key) > MAX_KEY_BYTES or len(att.signature) > MAX_SIGNATURE_BYTES):
            raise BatchError(BatchErrorCode.MALFORMED, "an attestation field exceeds its limit")
        return att


class AttestationBook:
    """Attestations received per batch digest, bounded; answers which verdicts f+1 members agree on.

    Only members of the current committee count, each once per digest (a
    second, different attestation from one member is ignored: the first
    stands). Signatures are checked on arrival, so a forged attestation is
    refused and costs no memory.
    """

    def __init__(self, keys: Sequence[bytes], faults: int, verify: Verify, capacity: int = 20_000) -> None:
        self._members = frozenset(keys)
        self._needed = faults + 1
        self._verify = verify
        self._capacity = capacity
        self._by_digest: OrderedDict[bytes, dict[bytes, bytes]] = OrderedDict()

    def add(self, att: BatchAttestation) -> bool:
        """Record a member's attestation; False if it is not from a member or its signature is invalid."""
        if att.key not in self._members:
            return False
        known = self._by_digest.get(att.digest)
        if known is not None and att.key in known:
            return True
        if not self._verify(att.key, BatchAttestation.signed_bytes(att.digest, att.verdicts), att.signature):
            return False
        if known is None:
            known = self._by_digest[att.digest] = {}
            while len(self._by_digest) > self._capacity:
                self._by_digest.popitem(last=False)
        known[att.key] = att.verdicts
        return True

    def settled(self, digest: bytes) -> bytes | None:
        """The packed verdicts at least f+1 distinct members attested for the batch, or None."""
        known = self._by_digest.get(digest)
        if not known or len(known) < self._needed:
            return None
        counts: dict[bytes, int] = {}
        for verdicts in known.values():
            counts[verdicts] = counts.get(verdicts, 0) + 1
            if counts[verdicts] >= self._needed:
                return verdicts
        return None

    def forget(self, digest: bytes) -> None:
        """Drop what is known of a batch (executed, or no longer held)."""
        self._by_digest.pop(digest, None)

    def __len__(self) -> int:
        return len(self._by_digest)
