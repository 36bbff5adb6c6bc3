"""SM2 signature and SM2 encryption as suite algorithms, over the chosen backend."""
from __future__ import annotations

from chain.crypto.algorithms import Algorithm
from chain.crypto.errors import InvalidKeyError
from chain.crypto.interfaces import PublicKeyEncryptionAPI, SignatureSchemeAPI
from chain.crypto.sm2 import curve
from chain.crypto.sm2.backend import default_backend
from chain.crypto.sm2.interfaces import Sm2BackendAPI


def _check_private(private: bytes) -> None:
    if len(private) != 32:
        raise InvalidKeyError("SM2 private key must be 32 bytes")
    curve.check_scalar(int.from_bytes(private, "big"))


class Sm2Signature(SignatureSchemeAPI):
    """SM2 signature with SM3 and the default signer ID (GB/T 32918.2, GM/T 0009)."""

    algorithm = Algorithm.SM2

    def __init__(self, backend: Sm2BackendAPI | None = None) -> None:
        self.backend = backend or default_backend()

    def generate(self) -> bytes:
        return self.backend.generate()

    def public_from_private(self, private: bytes) -> bytes:
        _check_private(private)
        return self.backend.public_from_private(private)

    def validate_public(self, public: bytes) -> None:
        if len(public) != 33:
            raise InvalidKeyError("SM2 public key must be a 33-byte SEC1 compressed point")
        curve.decompress(public)

    def sign(self, private: bytes, message: bytes) -> bytes:
        _check_private(private)
        r, s = self.backend.sign(private, message)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64 or len(public) != 33:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        try:
            return self.backend.verify(public, message, r, s)
        except InvalidKeyError:
            return False


class Sm2Encryption(PublicKeyEncryptionAPI):
    """SM2 public-key encryption (GB/T 32918.4), ciphertext C1(65) || C3(32) || C2."""

    algorithm = Algorithm.SM2_ENC
    key_algorithm = Algorithm.SM2

    def __init__(self, backend: Sm2BackendAPI | None = None) -> None:
        self.backend = backend or default_backend()

    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        curve.decompress(public)
        return self.backend.encrypt(public, plaintext)

    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        _check_private(private)
        return self.backend.decrypt(private, ciphertext)
