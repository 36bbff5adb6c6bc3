"""Crypto suites (classic, sm): self-describing keys, signatures, hashes, addresses; ciphers; batch verify."""
from __future__ import annotations

from chain.crypto.address import Address
from chain.crypto.algorithms import Algorithm
from chain.crypto.batch import BatchVerifier, verify_serial
from chain.crypto.digest import HashDigest
from chain.crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidAddressError,
    InvalidDigestError,
    InvalidKeyError,
    InvalidSignatureEncodingError,
    SuiteMismatchError,
    UnknownAlgorithmError,
)
from chain.crypto.keys import KeyPair, PrivateKey, PublicKey
from chain.crypto.signature import Signature
from chain.crypto.suites import CLASSIC, SM, SUITES, CryptoSuite, get_suite, suite_of
from chain.crypto.verify import verify_encoded

__all__ = [
    "CLASSIC",
    "SM",
    "SUITES",
    "Address",
    "Algorithm",
    "BatchVerifier",
    "CryptoError",
    "CryptoSuite",
    "DecryptionError",
    "HashDigest",
    "InvalidAddressError",
    "InvalidDigestError",
    "InvalidKeyError",
    "InvalidSignatureEncodingError",
    "KeyPair",
    "PrivateKey",
    "PublicKey",
    "Signature",
    "SuiteMismatchError",
    "UnknownAlgorithmError",
    "get_suite",
    "suite_of",
    "verify_encoded",
    "verify_serial",
]
