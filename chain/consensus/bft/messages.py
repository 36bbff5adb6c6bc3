"""Consensus messages and certificates, their canonical encoding and the bytes each signature covers.

Every signed statement is domain-separated and encoded with the ledger codec,
so an SM2 ledger's votes are SM2 signatures over canonical bytes, like
everything else on the ledger.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Union

from chain.codec import CodecError, decode, encode
from chain.codec.schema import from_value, to_value
from chain.consensus.bft.errors import MalformedMessage

BLOCK_DOMAIN = b"chain/bft/block/v1\x00"
VOTE_DOMAIN = b"chain/bft/vote/v1\x00"
TIMEOUT_DOMAIN = b"chain/bft/timeout/v1\x00"
PROPOSAL_DOMAIN = b"chain/bft/proposal/v1\x00"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

Digest = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Signed:
    """A committee member's signature: its index in the committee and the encoded signature."""

    signer: int
    signature: bytes


@dataclass(frozen=True)
class QuorumCert:
    """A quorum of votes for one block in one round; the genesis QC of an epoch has no votes."""

    epoch: int
    round: int
    height: int
    block_id: bytes
    votes: tuple[Signed, ...]

    def signed_bytes(self) -> bytes:
        """What each vote signs."""
        return vote_bytes(self.epoch, self.round, self.height, self.block_id)


@dataclass(frozen=True)
class TimeoutCert:
    """A quorum of timeouts for one round; each signer's highest QC round is kept (the lock evidence)."""

    epoch: int
    round: int
    high_qc_rounds: tuple[int, ...]
    signatures: tuple[Signed, ...]

    def max_high_qc_round(self) -> int:
        """The highest QC round any signer reported: a block after this TC must extend at least that."""
        return max(self.high_qc_rounds)


@dataclass(frozen=True)
class Block:
    """An ordering decision candidate: batch digests on top of a certified parent."""

    epoch: int
    round: int
    height: int
    parent: bytes
    justify: QuorumCert
    payload: tuple[bytes, ...]
    timestamp_ms: int
    author: int

    def id(self, digest: Digest) -> bytes:
        """The block id: what votes and children refer to (the QC's signatures are not part of it)."""
        return digest(BLOCK_DOMAIN + encode([self.epoch, self.round, self.height, self.parent, self.justify.round,
                                             list(self.payload), self.timestamp_ms, self.author]))


@dataclass(frozen=True)
class Proposal:
    """The leader's block for a round, with the TC that let it skip a failed round, signed by the leader."""

    block: Block
    last_tc: TimeoutCert | None
    signature: bytes


@dataclass(frozen=True)
class Vote:
    """A replica's vote for a block, sent to every replica (all-to-all)."""

    epoch: int
    round: int
    height: int
    block_id: bytes
    signer: int
    signature: bytes


@dataclass(frozen=True)
class Timeout:
    """A replica gives up on a round; it carries its highest QC (and the TC that got it to this round)."""

    epoch: int
    round: int
    high_qc: QuorumCert
    last_tc: TimeoutCert | None
    signer: int
    signature: bytes


@dataclass(frozen=True)
class CertifiedBlock:
    """A block and a QC for it."""

    block: Block
    qc: QuorumCert


@dataclass(frozen=True)
class SyncRequest:
    """Ask a peer for the certified blocks above `committed_height` up to (and including) `target`."""

    epoch: int
    committed_height: int
    target: bytes


@dataclass(frozen=True)
class SyncResponse:
    """Certified blocks in height order, starting right above the requester's committed height."""

    epoch: int
    blocks: tuple[CertifiedBlock, ...]


class Kind(IntEnum):
    """Wire tag of each message type."""

    PROPOSAL = 1
    VOTE = 2
    TIMEOUT = 3
    SYNC_REQUEST = 4
    SYNC_RESPONSE = 5


Message = Union[Proposal, Vote, Timeout, SyncRequest, SyncResponse]
_KINDS: dict[type, Kind] = {Proposal: Kind.PROPOSAL, Vote: Kind.VOTE, Timeout: Kind.TIMEOUT,
                            SyncRequest: Kind.SYNC_REQUEST, SyncResponse: Kind.SYNC_RESPONSE}
_TYPES: dict[int, type] = {int(k): t for t, k in _KINDS.items()}


def vote_bytes(epoch: int, round: int, height: int, block_id: bytes) -> bytes:
    """What a vote signs."""
    return VOTE_DOMAIN + encode([epoch, round, height, block_id])


def timeout_bytes(epoch: int, round: int, high_qc_round: int) -> bytes:
    """What a timeout signs (the signer's highest QC round is part of the statement)."""
    return TIMEOUT_DOMAIN + encode([epoch, round, high_qc_round])


def proposal_bytes(block_id: bytes) -> bytes:
    """What the leader signs."""
    return PROPOSAL_DOMAIN + block_id


def encode_message(message: Message) -> bytes:
    """Canonical bytes: [kind, fields]."""
    return encode([int(_KINDS[type(message)]), to_value(message)])


def decode_message(data: bytes) -> Message:
    """Parse bytes from a peer; raises MalformedMessage naming what was wrong."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        value = decode(data)
        if not isinstance(value, list) or len(value) != 2 or type(value[0]) is not int or value[0] not in _TYPES:
            raise MalformedMessage("expected [kind, fields] with a known kind")
        message: Message = from_value(_TYPES[value[0]], value[1])
    except CodecError as exc:
        raise MalformedMessage(str(exc)) from None
    return message
