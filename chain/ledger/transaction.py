"""Transactions: content (ledger, nonce, expiry, operations), its hash, and endorsements."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from chain.codec import CodecError, decode, encode
from chain.crypto import CryptoSuite, PrivateKey, verify_encoded
from chain.ledger.errors import Rejection, ResultCode
from chain.ledger.operations import Operation, operation_from_value, operation_to_value

TX_SIGNING_DOMAIN = b"chain/tx/v1\x00"
MAX_NONCE = 32


@dataclass(frozen=True)
class TxContent:
    """What endorsers sign: the ledger, a nonce, the last height it may enter, and the operations."""

    ledger_id: bytes
    nonce: bytes
    expiry_height: int
    operations: tuple[Operation, ...]

    def to_value(self) -> list[object]:
        """[ledger_id, nonce, expiry_height, [op, ...]]."""
        return [self.ledger_id, self.nonce, self.expiry_height, [operation_to_value(op) for op in self.operations]]

    @classmethod
    def from_value(cls, value: object) -> TxContent:
        """Parse the array form, refusing anything malformed."""
        if not (isinstance(value, list) and len(value) == 4):
            raise Rejection("transaction content must be [ledger_id, nonce, expiry_height, operations]")
        ledger_id, nonce, expiry, ops = value
        if not isinstance(ledger_id, bytes) or len(ledger_id) != 32:
            raise Rejection("ledger_id must be 32 bytes")
        if not isinstance(nonce, bytes) or not 1 <= len(nonce) <= MAX_NONCE:
            raise Rejection(f"nonce must be 1..{MAX_NONCE} bytes")
        if not isinstance(expiry, int) or isinstance(expiry, bool) or expiry < 0:
            raise Rejection("expiry_height must be a non-negative integer")
        if not isinstance(ops, list) or not ops:
            raise Rejection("a transaction needs at least one operation")
        return cls(ledger_id, nonce, expiry, tuple(operation_from_value(op) for op in ops))

    def encode(self) -> bytes:
        """Canonical bytes."""
        return encode(self.to_value())


def _head_size(n: int) -> int:
    """Bytes of a canonical CBOR head whose argument is n."""
    return 1 if n < 24 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 0x100000000 else 9


def _endorsements_size(items: object) -> int | None:
    """Bytes of the canonical encoding of [[public_key, signature], ...] (counted, not encoded); None for another shape."""
    if type(items) is not list:
        return None
    size = _head_size(len(items))
    for item in items:
        if type(item) is not list or len(item) != 2 or type(item[0]) is not bytes or type(item[1]) is not bytes:
            return None
        size += 1 + _head_size(len(item[0])) + len(item[0]) + _head_size(len(item[1])) + len(item[1])
    return size


@dataclass(frozen=True)
class Endorsement:
    """A signer's encoded public key and its signature over the transaction hash."""

    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class Transaction:
    """Content plus one or more endorsements; the id is the suite hash of the content's bytes."""

    content: TxContent
    endorsements: tuple[Endorsement, ...]
    hash: bytes

    @classmethod
    def create(cls, suite: CryptoSuite, content: TxContent, signers: Sequence[PrivateKey]) -> Transaction:
        """Hash and sign content with every signer."""
        tx_hash = suite.digest(content.encode())
        message = TX_SIGNING_DOMAIN + tx_hash
        endorsements = tuple(Endorsement(k.public_key().encode(), k.sign(message).encode()) for k in signers)
        return cls(content, endorsements, tx_hash)

    def to_value(self) -> list[object]:
        """[content, [[public_key, signature], ...]]."""
        return [self.content.to_value(), [[e.public_key, e.signature] for e in self.endorsements]]

    def encode(self) -> bytes:
        """Canonical bytes as carried in blocks and sent to nodes."""
        return encode(self.to_value())

    @classmethod
    def from_value(cls, suite: CryptoSuite, value: object, content_bytes: bytes | None = None) -> Transaction:
        """Parse the array form; the hash is computed over the content's canonical bytes."""
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)):
            raise Rejection("a transaction must be [content, endorsements]")
        content = TxContent.from_value(value[0])
        endorsements = []
        for item in value[1]:
            if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, bytes) for x in item)):
                raise Rejection("an endorsement must be [public_key, signature]")
            endorsements.append(Endorsement(item[0], item[1]))
        if not endorsements:
            raise Rejection("a transaction needs at least one endorsement")
        return cls(content, tuple(endorsements), suite.digest(content_bytes if content_bytes is not None else encode(value[0])))

    @classmethod
    def decode(cls, suite: CryptoSuite, data: bytes, max_size: int) -> Transaction:
        """Parse canonical bytes (refusing non-canonical ones) within a size limit."""
        if len(data) > max_size:
            raise Rejection(f"transaction is {len(data)} bytes; the limit is {max_size}", ResultCode.TOO_LARGE)
        try:
            value = decode(data, max_size=max_size)
        except CodecError as exc:
            raise Rejection(f"transaction bytes are not canonical: {exc}") from None
        content_bytes = None
        if isinstance(value, list) and len(value) == 2 and data[:1] == b"\x82":
            # data is canonical, so it is 0x82 || content || endorsements: slice instead of re-encoding
            size = _endorsements_size(value[1])
            if size is not None:
                content_bytes = bytes(data[1 : len(data) - size])
        return cls.from_value(suite, value, content_bytes)

    @cached_property
    def signing_message(self) -> bytes:
        """The bytes every endorser signs."""
        return TX_SIGNING_DOMAIN + self.hash

    def signature_items(self) -> list[tuple[bytes, bytes, bytes]]:
        """(public key, message, signature) triples for batch verification."""
        return [(e.public_key, self.signing_message, e.signature) for e in self.endorsements]

    def signatures_valid(self) -> bool:
        """True iff every endorsement verifies."""
        return all(verify_encoded(pk, msg, sig) for pk, msg, sig in self.signature_items())

