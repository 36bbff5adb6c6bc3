"""PublicKey, PrivateKey and KeyPair: keys that name their algorithm."""
from __future__ import annotations

from dataclasses import dataclass, field

from chain.crypto.algorithms import SIGNATURES, Algorithm, split_prefix
from chain.crypto.errors import InvalidKeyError, UnknownAlgorithmError
from chain.crypto.registry import signature_scheme
from chain.crypto.signature import Signature


def _split(data: bytes) -> tuple[Algorithm, bytes]:
    try:
        return split_prefix(data, SIGNATURES)
    except UnknownAlgorithmError as exc:
        raise InvalidKeyError(str(exc)) from None


def _from_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise InvalidKeyError("key is not valid hex") from None


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key; encodes as code(2) || SEC1 compressed point(33)."""

    algorithm: Algorithm
    value: bytes

    def __post_init__(self) -> None:
        if self.algorithm not in SIGNATURES:
            raise InvalidKeyError(f"{self.algorithm.name} is not a signature algorithm")
        signature_scheme(self.algorithm).validate_public(self.value)

    def verify(self, message: bytes, signature: Signature) -> bool:
        """True iff signature is a valid signature of message by this key (same algorithm)."""
        if signature.algorithm is not self.algorithm:
            return False
        return signature_scheme(self.algorithm).verify(self.value, message, signature.value)

    def encode(self) -> bytes:
        """Self-describing bytes."""
        return self.algorithm.prefix + self.value

    @classmethod
    def decode(cls, data: bytes) -> PublicKey:
        """Parse and validate self-describing bytes."""
        return cls(*_split(data))

    def hex(self) -> str:
        """Hex of the self-describing bytes."""
        return self.encode().hex()

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """Parse the hex of self-describing bytes."""
        return cls.decode(_from_hex(text))


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A private key; encodes as code(2) || scalar(32). Its repr never shows the scalar."""

    algorithm: Algorithm
    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.algorithm not in SIGNATURES:
            raise InvalidKeyError(f"{self.algorithm.name} is not a signature algorithm")
        signature_scheme(self.algorithm).public_from_private(self.value)

    @classmethod
    def generate(cls, algorithm: Algorithm) -> PrivateKey:
        """A fresh private key for a signature algorithm."""
        return cls(algorithm, signature_scheme(algorithm).generate())

    def public_key(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.algorithm, signature_scheme(self.algorithm).public_from_private(self.value))

    def sign(self, message: bytes) -> Signature:
        """Sign message."""
        return Signature(self.algorithm, signature_scheme(self.algorithm).sign(self.value, message))

    def encode(self) -> bytes:
        """Self-describing bytes (secret: store only through the keystore)."""
        return self.algorithm.prefix + self.value

    @classmethod
    def decode(cls, data: bytes) -> PrivateKey:
        """Parse and validate self-describing bytes."""
        return cls(*_split(data))


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key with its public key."""

    private: PrivateKey
    public: PublicKey

    @classmethod
    def generate(cls, algorithm: Algorithm) -> KeyPair:
        """A fresh key pair."""
        private = PrivateKey.generate(algorithm)
        return cls(private, private.public_key())

    @classmethod
    def from_private(cls, private: PrivateKey) -> KeyPair:
        """The pair of an existing private key."""
        return cls(private, private.public_key())
