"""Crypto benchmark: sign/verify per second per suite, one core and the process pool.

python -m bench.crypto [--quick]
Each figure is the median of 5 runs (the best run is printed alongside). Verification
cycles over 1,000 distinct signers, as a ledger sees them.
"""
from __future__ import annotations

import argparse
import os

from bench.report import emit, log, rate
from chain.crypto import CLASSIC, SM, BatchVerifier, CryptoSuite, verify_serial
from chain.crypto.registry import signature_scheme
from chain.crypto.sm2 import get_backend
from chain.crypto.sm2.scheme import Sm2Signature


def _items(suite: CryptoSuite, signers: int, count: int) -> list[tuple[bytes, bytes, bytes]]:
    pairs = [suite.generate_keypair() for _ in range(signers)]
    items = []
    for i in range(count):
        pair = pairs[i % signers]
        msg = b"transaction body %08d " % i + b"x" * 180
        items.append((pair.public.encode(), msg, pair.private.sign(msg).encode()))
    return items


def bench_suite(suite: CryptoSuite, batch: int, pool: BatchVerifier, signers: int) -> None:
    name = suite.name if suite is CLASSIC else f"sm/{signature_scheme(suite.signature_algorithm).backend.name}"  # type: ignore[attr-defined]
    pair = suite.generate_keypair()
    msg = b"m" * 200
    n_sign = 2000 if suite is CLASSIC else 1000

    def sign() -> int:
        for _ in range(n_sign):
            pair.private.sign(msg)
        return n_sign

    med, best = rate(sign)
    emit("crypto", f"{name}/sign_per_s_1core", med, best=round(best, 1))
    items = _items(suite, signers, batch)
    verify_serial(items)  # warm the key caches

    def serial() -> int:
        assert all(verify_serial(items))
        return len(items)

    def pooled() -> int:
        assert all(pool.verify(items))
        return len(items)

    s_med, s_best = rate(serial)
    emit("crypto", f"{name}/verify_per_s_1core", s_med, best=round(s_best, 1), signers=signers)
    for _ in range(3):  # every worker sees every signer: warm key caches, as in a running node
        pooled()
    p_med, p_best = rate(pooled)
    emit("crypto", f"{name}/verify_per_s_pool", p_med, best=round(p_best, 1), workers=pool.workers, batch=batch)
    emit("crypto", f"{name}/pool_speedup", p_med / s_med, batch=batch, workers=pool.workers)


def bench_reference_sm2() -> None:
    scheme = Sm2Signature(get_backend("reference"))
    private = scheme.generate()
    public = scheme.public_from_private(private)
    sig = scheme.sign(private, b"m")

    def verify() -> int:
        for _ in range(20):
            assert scheme.verify(public, b"m", sig)
        return 20

    med, best = rate(verify, runs=3)
    emit("crypto", "sm/reference/verify_per_s_1core", med, best=round(best, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small batches, for a smoke run")
    args = parser.parse_args()
    batch = 400 if args.quick else 2000
    signers = 100 if args.quick else 1000
    log(f"cpu cores: {os.cpu_count()}; batch {batch}; {signers} signers")
    with BatchVerifier(serial_below=64) as pool:
        pool.start()
        for suite in (CLASSIC, SM):
            bench_suite(suite, batch, pool, signers)
    bench_reference_sm2()


if __name__ == "__main__":
    main()
