"""The interface both SM2 backends implement; scalars and points are raw bytes."""
from __future__ import annotations

from abc import ABC, abstractmethod


class Sm2BackendAPI(ABC):
    """SM2 signature and public-key encryption over the recommended curve, default ID."""

    name: str

    @abstractmethod
    def generate(self) -> bytes:
        """A fresh 32-byte private scalar."""

    @abstractmethod
    def public_from_private(self, private: bytes) -> bytes:
        """The 33-byte compressed public point of a private scalar."""

    @abstractmethod
    def sign(self, private: bytes, message: bytes) -> tuple[int, int]:
        """Sign a message (Z_A prepended, SM3) and return (r, s)."""

    @abstractmethod
    def verify(self, public: bytes, message: bytes, r: int, s: int) -> bool:
        """True iff (r, s) is a valid signature of message under public."""

    @abstractmethod
    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        """SM2 encryption of a non-empty plaintext; returns C1 (65, uncompressed) || C3 (32) || C2."""

    @abstractmethod
    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        """Inverse of encrypt; raises DecryptionError on any failure."""
