"""Blocks: header, commit certificate, validator sets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from chain.codec import encode
from chain.codec.schema import to_cbor
from chain.crypto import CryptoSuite, PrivateKey, verify_encoded

COMMIT_DOMAIN = b"chain/commit/v1\x00"


@dataclass(frozen=True)
class BlockHeader:
    """What a block commits to. The genesis header has an empty ledger_id; the ledger id is its hash."""

    ledger_id: bytes
    height: int
    previous_hash: bytes
    timestamp_ms: int
    tx_root: bytes
    receipts_root: bytes
    state_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    proposer: bytes

    def encode(self) -> bytes:
        """Canonical bytes."""
        return to_cbor(self)

    def hash(self, suite: CryptoSuite) -> bytes:
        """The block hash."""
        return suite.digest(self.encode())


@dataclass(frozen=True)
class Validator:
    """A validator's address and encoded public key."""

    address: bytes
    public_key: bytes


@dataclass(frozen=True)
class ValidatorSet:
    """The validators that sign a height's commit certificate, sorted by address."""

    validators: tuple[Validator, ...]

    def hash(self, suite: CryptoSuite) -> bytes:
        """Commitment to the set (carried in headers)."""
        return suite.digest(encode([[v.address, v.public_key] for v in self.validators]))

    @property
    def quorum(self) -> int:
        """Signatures needed: more than two thirds."""
        return len(self.validators) * 2 // 3 + 1

    def keys(self) -> set[bytes]:
        """Encoded public keys of the members."""
        return {v.public_key for v in self.validators}


@dataclass(frozen=True)
class Vote:
    """One validator's signature over a block hash."""

    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class CommitCertificate:
    """A quorum of validator signatures over a block hash."""

    height: int
    block_hash: bytes
    votes: tuple[Vote, ...]

    @classmethod
    def sign(cls, height: int, block_hash: bytes, keys: Sequence[PrivateKey]) -> CommitCertificate:
        """A certificate signed by the given validator keys."""
        message = COMMIT_DOMAIN + block_hash
        return cls(height, block_hash, tuple(Vote(k.public_key().encode(), k.sign(message).encode()) for k in keys))

    def problems(self, validators: ValidatorSet, block_hash: bytes, height: int) -> str | None:
        """None if this certificate commits block_hash at height for validators, else what is wrong."""
        if self.block_hash != block_hash or self.height != height:
            return "certificate is for another block"
        members = validators.keys()
        seen: set[bytes] = set()
        message = COMMIT_DOMAIN + block_hash
        for vote in self.votes:
            if vote.public_key not in members:
                return "certificate has a vote from a non-validator"
            if vote.public_key in seen:
                return "certificate has a duplicate vote"
            if not verify_encoded(vote.public_key, message, vote.signature):
                return "certificate has an invalid signature"
            seen.add(vote.public_key)
        if len(seen) < validators.quorum:
            return f"certificate has {len(seen)} votes; {validators.quorum} are needed"
        return None

    def encode(self) -> bytes:
        """Canonical bytes."""
        return to_cbor(self)
