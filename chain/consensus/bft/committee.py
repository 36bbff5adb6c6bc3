"""The validators of an epoch: order, quorum, leader rotation, and certificate checks."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from chain.consensus.bft.errors import InvalidCertificate
from chain.consensus.bft.messages import QuorumCert, Signed, TimeoutCert, timeout_bytes
from chain.crypto import verify_encoded

Verify = Callable[[bytes, bytes, bytes], bool]


class SignatureCache:
    """Remembers verification results: one vote is seen alone and again inside QCs, by every replica in a simulation.

    Verification is a pure function of (key, message, signature), so a cached
    answer is exact, for failures too; the cache is bounded (least recently
    used go first), so a flood of forgeries costs its verifier but no memory.
    """

    def __init__(self, verify: Verify = verify_encoded, capacity: int = 65_536) -> None:
        self._verify = verify
        self._seen: OrderedDict[tuple[bytes, bytes, bytes], bool] = OrderedDict()
        self._capacity = capacity

    def __call__(self, key: bytes, message: bytes, signature: bytes) -> bool:
        """True iff signature is valid for message under key."""
        triple = (key, message, signature)
        known = self._seen.get(triple)
        if known is not None:
            self._seen.move_to_end(triple)
            return known
        valid = self._verify(key, message, signature)
        self._seen[triple] = valid
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return valid


@dataclass(frozen=True)
class Committee:
    """An epoch's validators (encoded public keys, index = position) with equal voting power."""

    epoch: int
    keys: tuple[bytes, ...]
    verify: Verify = field(default=verify_encoded, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Number of validators, n."""
        return len(self.keys)

    @property
    def faults(self) -> int:
        """Byzantine validators tolerated, f = floor((n - 1) / 3)."""
        return (self.size - 1) // 3

    @property
    def quorum(self) -> int:
        """Votes that make a certificate: floor(2n/3) + 1, so any two quorums share an honest member."""
        return self.size * 2 // 3 + 1

    def leader(self, round: int) -> int:
        """The proposer of a round (round robin, shifted by epoch so a new epoch does not restart at 0)."""
        return (round + self.epoch) % self.size

    def valid_signer(self, signer: int) -> bool:
        """True iff signer is a member index."""
        return type(signer) is int and 0 <= signer < self.size

    def verify_signed(self, signed: Signed, message: bytes) -> bool:
        """True iff a member made this signature over message."""
        return self.valid_signer(signed.signer) and self.verify(self.keys[signed.signer], message, signed.signature)

    def check_qc(self, qc: QuorumCert) -> None:
        """Raise InvalidCertificate unless a quorum of distinct members signed the QC (genesis QCs are checked by the caller)."""
        if qc.epoch != self.epoch:
            raise InvalidCertificate(f"QC of epoch {qc.epoch} in epoch {self.epoch}")
        self._check_quorum(qc.votes, [qc.signed_bytes()] * len(qc.votes), f"QC round {qc.round}")

    def check_tc(self, tc: TimeoutCert) -> None:
        """Raise InvalidCertificate unless a quorum of distinct members timed out in the TC's round."""
        if tc.epoch != self.epoch:
            raise InvalidCertificate(f"TC of epoch {tc.epoch} in epoch {self.epoch}")
        if len(tc.high_qc_rounds) != len(tc.signatures):
            raise InvalidCertificate("TC rounds and signatures differ in number")
        if any(type(r) is not int or r < 0 or r >= tc.round for r in tc.high_qc_rounds):
            raise InvalidCertificate("TC reports a QC round that is not below its own round")
        messages = [timeout_bytes(tc.epoch, tc.round, r) for r in tc.high_qc_rounds]
        self._check_quorum(tc.signatures, messages, f"TC round {tc.round}")

    def _check_quorum(self, signatures: tuple[Signed, ...], messages: list[bytes], what: str) -> None:
        """Distinct members, each signature valid, at least a quorum of them."""
        signers = [s.signer for s in signatures]
        if len(set(signers)) != len(signers):
            raise InvalidCertificate(f"{what} counts a signer twice")
        if len(signers) < self.quorum:
            raise InvalidCertificate(f"{what} has {len(signers)} signatures; {self.quorum} are needed")
        for signed, message in zip(signatures, messages):
            if not self.verify_signed(signed, message):
                raise InvalidCertificate(f"{what} has an invalid signature from member {signed.signer}")
