"""Hash functions (SHA-256, SM3) backed by OpenSSL."""
from __future__ import annotations

import hashlib
from typing import Callable

from cryptography.hazmat.primitives import hashes

from chain.crypto.algorithms import Algorithm
from chain.crypto.errors import UnknownAlgorithmError

DIGEST_SIZE = 32


def _sm3_factory() -> Callable[[bytes], bytes]:
    """SM3 through hashlib when the system OpenSSL has it, else through cryptography."""
    if "sm3" in hashlib.algorithms_available:
        try:
            prototype = hashlib.new("sm3", b"")

            def sm3_hashlib(data: bytes) -> bytes:
                h = prototype.copy()  # copying the empty state is about twice as fast as hashlib.new by name
                h.update(data)
                return h.digest()

            return sm3_hashlib
        except ValueError:  # listed but disabled by the OpenSSL provider config
            pass

    def sm3_cryptography(data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    return sm3_cryptography


def sha256(data: bytes) -> bytes:
    """Raw SHA-256 digest."""
    return hashlib.sha256(data).digest()


sm3: Callable[[bytes], bytes] = _sm3_factory()

_FUNCTIONS: dict[Algorithm, Callable[[bytes], bytes]] = {
    Algorithm.SHA256: sha256,
    Algorithm.SM3: sm3,
}


def hash_function(alg: Algorithm) -> Callable[[bytes], bytes]:
    """The raw-digest function of a hash algorithm."""
    try:
        return _FUNCTIONS[alg]
    except KeyError:
        raise UnknownAlgorithmError(f"{alg.name} is not a hash algorithm") from None
