"""`make run`: a short, honest demonstration of what exists so far, then a running node.

Creates keys in both suites, signs and verifies, shows tamper detection,
encrypts to a public key, stores a key encrypted on disk, builds a consortium
CA in both suites, then starts a local 4-validator BFT consortium, writes demo data
and verifies a state proof read from another validator, and leaves it running (CHAIN_DEMO_ONESHOT=1
stops it instead, as the tests do).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from chain.crypto import CLASSIC, SM, BatchVerifier, CryptoSuite
from chain.crypto.keystore import load_key, save_key

DATA = Path(os.environ.get("CHAIN_DEMO_DIR", "demo-data"))
PASSWORD = b"demo-password"


def say(text: str = "") -> None:
    """Print a demo line."""
    print(text, flush=True)


def show_suite(suite: CryptoSuite) -> None:
    """Sign, verify, detect tampering, encrypt, and store a key for one suite."""
    say(f"== suite {suite.name}: {suite.signature_algorithm.name} / {suite.hash_algorithm.name} / {suite.cipher_algorithm.name}")
    pair = suite.generate_keypair()
    message = b"batch 2026-11-24 commissioned 1,000 items"
    signature = pair.private.sign(message)
    say(f"   address      {suite.address_of(pair.public)}")
    say(f"   public key   {pair.public.hex()}")
    say(f"   signature    {signature.hex()[:40]}...")
    say(f"   verify       {suite.verify(pair.public, message, signature)} (original)")
    say(f"   verify       {suite.verify(pair.public, message + b'!', signature)} (message altered by one byte)")
    secret = suite.encryption.encrypt(pair.public.value, b"price list for bank A only")
    say(f"   encrypted    {len(secret)} bytes to the key holder; decrypts to {suite.encryption.decrypt(pair.private.value, secret)!r}")
    path = save_key(DATA / f"{suite.name}-demo.key", pair.private, PASSWORD, label=f"demo {suite.name}", overwrite=True)
    say(f"   key file     {path} (mode {oct(path.stat().st_mode & 0o777)}, encrypted) reloads: {load_key(path, PASSWORD) == pair.private}")


def show_batch() -> None:
    """Verify a batch of signatures on the process pool."""
    items = []
    for suite in (CLASSIC, SM):
        pair = suite.generate_keypair()
        for i in range(500):
            msg = b"tx %d" % i
            items.append((pair.public.encode(), msg, pair.private.sign(msg).encode()))
    with BatchVerifier() as verifier:
        verifier.start()
        start = time.perf_counter()
        ok = verifier.verify(items)
        took = time.perf_counter() - start
    say(f"== batch verify: {sum(ok)}/{len(items)} valid in {took * 1000:.0f} ms on {verifier.workers + 1} processes")


def show_ca() -> None:
    """Build a consortium CA in both suites."""
    from chain.ca.demo import run_demo

    run_demo(DATA / "ca", PASSWORD, say)


def show_node(keep_running: bool, front_ends: Sequence[Any] = ()) -> None:
    """Start the local 4-validator consortium with demo data, the gateway and the given front ends."""
    from chain.node.demo import run_node_demo

    run_node_demo(DATA / "consortium", PASSWORD, say, keep_running, front_ends)


def main(front_ends: Sequence[Any] = ()) -> int:
    """Run the demo (`make run` runs web.demo, which adds the web front end)."""
    DATA.mkdir(parents=True, exist_ok=True)
    say("Consortium chain: what runs today (crypto suites, keystore, CA, ledger, a 4-validator BFT consortium, contracts,")
    say("gateway, explorer) and the first application, product traceability; trade finance, e-invoices and charity come next.\n")
    for suite in (CLASSIC, SM):
        show_suite(suite)
    show_batch()
    show_ca()
    show_node(os.environ.get("CHAIN_DEMO_ONESHOT") != "1", front_ends)
    say(f"\nFiles written under {DATA.resolve()}. Try: .venv/bin/chain --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
