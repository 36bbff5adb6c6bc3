"""Verify a signature given only self-describing bytes: the form transactions carry."""
from __future__ import annotations

from chain.crypto.algorithms import CODE_SIZE, SIGNATURES, Algorithm
from chain.crypto.errors import CryptoError
from chain.crypto.registry import signature_scheme


def verify_encoded(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff the encoded signature is valid for message under the encoded key; never raises."""
    if len(public_key) < CODE_SIZE or public_key[:CODE_SIZE] != signature[:CODE_SIZE]:
        return False
    try:
        alg = Algorithm(int.from_bytes(public_key[:CODE_SIZE], "big"))
    except ValueError:
        return False
    if alg not in SIGNATURES:
        return False
    try:
        return signature_scheme(alg).verify(public_key[CODE_SIZE:], message, signature[CODE_SIZE:])
    except CryptoError:
        return False
