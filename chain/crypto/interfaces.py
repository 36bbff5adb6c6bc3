"""Abstract interfaces every algorithm implementation satisfies; raw bytes in, raw bytes out."""
from __future__ import annotations

from abc import ABC, abstractmethod

from chain.crypto.algorithms import Algorithm


class SignatureSchemeAPI(ABC):
    """A signature algorithm over raw keys: 32-byte scalars, 33-byte compressed points, 64-byte r||s."""

    algorithm: Algorithm
    private_size = 32
    public_size = 33
    signature_size = 64

    @abstractmethod
    def generate(self) -> bytes:
        """A fresh raw private key."""

    @abstractmethod
    def public_from_private(self, private: bytes) -> bytes:
        """The raw public key of a raw private key; raises InvalidKeyError if out of range."""

    @abstractmethod
    def validate_public(self, public: bytes) -> None:
        """Raise InvalidKeyError unless `public` is a valid point of this scheme."""

    @abstractmethod
    def sign(self, private: bytes, message: bytes) -> bytes:
        """Raw r||s signature of message."""

    @abstractmethod
    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        """True iff signature is valid and canonical; never raises on bad signature bytes."""


class CipherAPI(ABC):
    """An AEAD cipher: seal/open with a random 96-bit nonce carried in the output."""

    algorithm: Algorithm
    key_size: int
    nonce_size = 12
    tag_size = 16

    @abstractmethod
    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
        """nonce || ciphertext || tag; a fresh random nonce unless one is given."""

    @abstractmethod
    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        """Plaintext of a sealed value; raises DecryptionError if it fails authentication."""


class PublicKeyEncryptionAPI(ABC):
    """Encrypt to a public key of the matching signature scheme's curve."""

    algorithm: Algorithm
    key_algorithm: Algorithm

    @abstractmethod
    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        """Raw ciphertext for the holder of the private key."""

    @abstractmethod
    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        """Plaintext; raises DecryptionError on a wrong key or corrupted ciphertext."""
