"""Suite dispatch: which module builds, signs and checks X.509 structures for a key or a suite."""
from __future__ import annotations

from types import ModuleType

from chain.ca import classic, sm
from chain.crypto import Algorithm, CryptoSuite, PublicKey


def builder_for(algorithm: Algorithm) -> ModuleType:
    """The builder module (classic or sm) of a signature algorithm."""
    return sm if algorithm is Algorithm.SM2 else classic


def verify_signature(suite: CryptoSuite, public: PublicKey, tbs: bytes, signature: bytes) -> bool:
    """True iff signature (DER r,s, as X.509 carries it) over tbs verifies under public in suite."""
    if public.algorithm is not suite.signature_algorithm:
        return False
    return builder_for(suite.signature_algorithm).verify_signature(public, tbs, signature)
