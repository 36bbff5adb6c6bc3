"""Crypto suites: the algorithm set a ledger fixes at genesis (classic or sm)."""
from __future__ import annotations

from dataclasses import dataclass

from chain.crypto.address import Address
from chain.crypto.algorithms import Algorithm
from chain.crypto.digest import HashDigest
from chain.crypto.errors import SuiteMismatchError, UnknownAlgorithmError
from chain.crypto.hashing import hash_function
from chain.crypto.interfaces import CipherAPI, PublicKeyEncryptionAPI
from chain.crypto.keys import KeyPair, PublicKey
from chain.crypto.registry import cipher, public_key_encryption
from chain.crypto.signature import Signature


@dataclass(frozen=True)
class CryptoSuite:
    """Hash, signature, AEAD cipher and public-key encryption algorithms used together."""

    name: str
    hash_algorithm: Algorithm
    signature_algorithm: Algorithm
    cipher_algorithm: Algorithm
    encryption_algorithm: Algorithm

    def digest(self, data: bytes) -> bytes:
        """Raw 32-byte digest with the suite's hash."""
        return hash_function(self.hash_algorithm)(data)

    def hash(self, data: bytes) -> HashDigest:
        """Self-describing digest with the suite's hash."""
        return HashDigest(self.hash_algorithm, self.digest(data))

    def generate_keypair(self) -> KeyPair:
        """A fresh signing key pair of the suite's signature algorithm."""
        return KeyPair.generate(self.signature_algorithm)

    def address_of(self, public_key: PublicKey) -> Address:
        """The address of a public key on a ledger of this suite."""
        self.require(public_key.algorithm)
        return Address.of(public_key, self.hash_algorithm)

    def verify(self, public_key: PublicKey, message: bytes, signature: Signature) -> bool:
        """Verify, refusing keys and signatures of another suite."""
        if public_key.algorithm is not self.signature_algorithm:
            return False
        return public_key.verify(message, signature)

    @property
    def cipher(self) -> CipherAPI:
        """The suite's AEAD cipher."""
        return cipher(self.cipher_algorithm)

    @property
    def encryption(self) -> PublicKeyEncryptionAPI:
        """The suite's public-key encryption."""
        return public_key_encryption(self.encryption_algorithm)

    def require(self, algorithm: Algorithm) -> None:
        """Raise SuiteMismatchError unless algorithm belongs to this suite."""
        members = (self.hash_algorithm, self.signature_algorithm, self.cipher_algorithm, self.encryption_algorithm)
        if algorithm not in members:
            raise SuiteMismatchError(f"{algorithm.name} is not part of the {self.name!r} suite")


CLASSIC = CryptoSuite("classic", Algorithm.SHA256, Algorithm.ECDSA_P256, Algorithm.AES256_GCM, Algorithm.ECIES_P256)
SM = CryptoSuite("sm", Algorithm.SM3, Algorithm.SM2, Algorithm.SM4_GCM, Algorithm.SM2_ENC)
SUITES: dict[str, CryptoSuite] = {CLASSIC.name: CLASSIC, SM.name: SM}


def get_suite(name: str) -> CryptoSuite:
    """The suite called name ("classic" or "sm")."""
    try:
        return SUITES[name]
    except KeyError:
        raise UnknownAlgorithmError(f"unknown crypto suite {name!r}; choose one of: {', '.join(SUITES)}") from None


def suite_of(algorithm: Algorithm) -> CryptoSuite:
    """The suite an algorithm belongs to."""
    for s in SUITES.values():
        if algorithm in (s.hash_algorithm, s.signature_algorithm, s.cipher_algorithm, s.encryption_algorithm):
            return s
    raise UnknownAlgorithmError(f"{algorithm.name} belongs to no suite")
