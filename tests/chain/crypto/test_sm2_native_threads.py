"""The native SM2 verifier stays correct when threads evict each other's cached keys."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chain.crypto.sm2 import get_backend
from chain.crypto.sm2.native import _FastVerifier


def test_concurrent_verification_with_constant_cache_eviction() -> None:
    backend = get_backend("native")
    verifier = _FastVerifier()
    verifier.cache_size = 4
    signed = []
    for i in range(20):
        private = backend.generate()
        public = backend.public_from_private(private)
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        r, s = backend.sign(private, b"m%d" % i)
        signed.append((public, b"m%d" % i, encode_dss_signature(r, s)))

    def work(offset: int) -> bool:
        ok = True
        for round_ in range(15):
            for j in range(len(signed)):
                public, msg, der = signed[(j + offset + round_) % len(signed)]
                ok &= verifier.verify(public, msg, der)
                ok &= not verifier.verify(public, msg + b"x", der)
        return ok

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(4)))
    assert len(verifier._keys) <= 4
