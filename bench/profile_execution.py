"""Execution profile: what one validator pays per transaction to execute and commit an ordered block.

python -m bench.profile_execution [--suite classic|sm] [--blocks 20] [--block-size 500] [--signers 500]
                                  [--store leveldb|memory] [--runs 3] [--profile] [--workload FILE] [--fingerprint]

Builds a devnet ledger, registers --signers writers, pre-signs --blocks x --block-size
KV-write transactions (one signer each, round robin, as bench.consensus sends them),
then times ONLY `ChainStore.build_ordered` (execution, state tree staging, roots)
and `ChainStore.commit` (one synced batch) per block. Signatures count as verified
(`Candidate(..., signatures_valid=True)`), as after the BFT engine's pooled
verification; `Transaction.decode` is timed apart, once per transaction. Each run
starts from a fresh copy of the same ledger; the figures are medians over --runs.

--workload FILE saves the workload on first use and replays it afterwards, so two
versions of the code execute byte-identical inputs; --fingerprint then prints a
digest of every stored record but the commit certificates (whose signatures are
randomised), which must not change when only speed does.
--profile prints a cProfile top-30 of build_ordered + commit (by cumulative time; PROFILE_SORT=tottime for own time).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pickle
import pstats
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

from bench.report import emit, log
from chain.crypto import PrivateKey, get_suite
from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import CERTIFICATE, Candidate, ChainStore
from chain.ledger.devnet import build_devnet
from chain.ledger.genesis import GenesisConfig
from chain.ledger.operations import ConfigureRole, RegisterDataAccount, RegisterUser, WriteKV
from chain.ledger.permissions import LedgerPermission, RolePolicy, TxPermission
from chain.ledger.transaction import Transaction, TxContent
from chain.storage import LevelDBKV
from chain.storage.memory import MemoryKV

SETUP_BATCH = 100


@dataclass
class Workload:
    """Everything a run replays: genesis, validator key, setup blocks and the timed blocks (canonical bytes)."""

    suite: str
    genesis: GenesisConfig
    validator_key: bytes
    setup: list[list[bytes]]
    blocks: list[list[bytes]]
    start_ms: int


def _tx(suite_name: str, ledger_id: bytes, key: PrivateKey, ops: list[object], expiry: int, n: int) -> bytes:
    """One signed transaction's canonical bytes (the nonce is derived from n, so a workload is reproducible)."""
    content = TxContent(ledger_id, n.to_bytes(12, "big"), expiry, tuple(ops))  # type: ignore[arg-type]
    return Transaction.create(get_suite(suite_name), content, [key]).encode()


def make_workload(suite_name: str, blocks: int, block_size: int, signers: int) -> Workload:
    """A devnet, its setup blocks (writer role, data account, signers) and pre-signed KV-write blocks."""
    net = build_devnet(suite_name)
    chain = ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators])
    admin, expiry = net.admins[0].key, 1_000
    setup = [[_tx(suite_name, chain.ledger_id, admin, [
        ConfigureRole("WRITER", int(LedgerPermission.WRITE_ANY_DATA_ACCOUNT), int(TxPermission.DIRECT_OPERATION)),
        RegisterDataAccount("bench", ())], expiry, 0)]]
    log(f"{suite_name}: issuing {signers} signers")
    members = [net.issue("org1", f"signer{i}") for i in range(signers)]
    for i in range(0, signers, SETUP_BATCH):
        regs = [RegisterUser(m.certificate.der, ("WRITER",), RolePolicy.UNION) for m in members[i:i + SETUP_BATCH]]
        setup.append([_tx(suite_name, chain.ledger_id, admin, regs, expiry, 1 + i)])  # type: ignore[arg-type]
    log(f"{suite_name}: signing {blocks * block_size} transactions")
    timed = []
    for b in range(blocks):
        timed.append([_tx(suite_name, chain.ledger_id, members[n % signers].key,
                          [WriteKV("bench", f"k{n}", b"v" * 32, None)], expiry, 1_000_000 + n)
                      for n in range(b * block_size, (b + 1) * block_size)])
    return Workload(suite_name, net.genesis, net.validators[0].key.encode(), setup, timed, net.genesis.timestamp_ms)


def load_workload(path: str | None, args: argparse.Namespace) -> Workload:
    """The saved workload at path (made and saved if absent), or a fresh one."""
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            workload = Workload(**pickle.load(f))
        log(f"replaying {path}: {workload.suite}, {len(workload.blocks)} x {len(workload.blocks[0])} transactions")
        return workload
    workload = make_workload(args.suite, args.blocks, args.block_size, args.signers)
    if path:
        with open(path, "wb") as f:
            pickle.dump(vars(workload), f)  # fields only: loadable whether this runs as __main__ or not
    return workload


class Run:
    """One ledger built from a workload: setup committed, timed blocks ready as candidates."""

    def __init__(self, workload: Workload, kv: object) -> None:
        self.workload = workload
        self.suite = get_suite(workload.suite)
        self.key = PrivateKey.decode(workload.validator_key)
        self.kv = kv
        self.chain = ChainStore.create(kv, workload.genesis, [self.key])  # type: ignore[arg-type]
        self.proposer = self.chain.validators().validators[0].address
        self.clock = 0
        for encoded in workload.setup:
            self.step(self.candidates(encoded))

    def candidates(self, encoded: list[bytes]) -> list[Candidate]:
        """Decode a block's transactions as the BFT engine does; signatures count as verified."""
        max_bytes = self.chain.settings().max_tx_bytes
        return [Candidate(Transaction.decode(self.suite, raw, max_bytes), raw, True) for raw in encoded]

    def step(self, candidates: list[Candidate]) -> tuple[float, float]:
        """Build and commit one block: (seconds in build_ordered, seconds in commit)."""
        self.clock += 1_000
        t0 = time.perf_counter()
        proposal = self.chain.build_ordered(candidates, self.workload.start_ms + self.clock, self.proposer)
        t1 = time.perf_counter()
        cert = CommitCertificate.sign(proposal.header.height, proposal.block_hash(self.suite), [self.key])
        t2 = time.perf_counter()
        self.chain.commit(proposal, cert)
        t3 = time.perf_counter()
        assert not proposal.rejected, proposal.rejected[:1]
        assert all(r.success for r in proposal.receipts)
        return t1 - t0, t3 - t2

    def fingerprint(self) -> str:
        """SHA-256 over every stored record except the commit certificates."""
        h = hashlib.sha256()
        for key, value in self.kv.iterate():  # type: ignore[attr-defined]
            if not key.startswith(CERTIFICATE):
                h.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
        return h.hexdigest()


def _store(kind: str, directory: str, n: int) -> object:
    return MemoryKV() if kind == "memory" else LevelDBKV(os.path.join(directory, f"run{n}"))


def timed_run(workload: Workload, kv: object, profiler: cProfile.Profile | None) -> tuple[Run, float, float, float]:
    """Decode, then build and commit every timed block: (run, decode, execute, commit) µs per transaction."""
    run = Run(workload, kv)
    t0 = time.perf_counter()
    blocks = [run.candidates(encoded) for encoded in workload.blocks]
    decode_s = time.perf_counter() - t0
    execute_s = commit_s = 0.0
    for candidates in blocks:
        if profiler is not None:
            profiler.enable()
        e, c = run.step(candidates)
        if profiler is not None:
            profiler.disable()
        execute_s += e
        commit_s += c
    count = sum(len(b) for b in workload.blocks)
    return run, decode_s * 1e6 / count, execute_s * 1e6 / count, commit_s * 1e6 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=["classic", "sm"], default="classic")
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block-size", type=int, default=500)
    parser.add_argument("--signers", type=int, default=500)
    parser.add_argument("--store", choices=["leveldb", "memory"], default="leveldb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--workload", help="save the workload here on first use, replay it afterwards")
    parser.add_argument("--fingerprint", action="store_true")
    args = parser.parse_args()
    workload = load_workload(args.workload, args)
    results: list[tuple[float, float, float]] = []
    profiler = cProfile.Profile() if args.profile else None
    fingerprints = set()
    with tempfile.TemporaryDirectory() as directory:
        for n in range(args.runs):
            kv = _store(args.store, directory, n)
            run, dec, exe, com = timed_run(workload, kv, profiler)
            results.append((dec, exe, com))
            log(f"run {n}: decode {dec:.1f} µs/tx, execute {exe:.1f} µs/tx, commit {com:.1f} µs/tx")
            if args.fingerprint:
                fingerprints.add(run.fingerprint())
            close: Callable[[], None] | None = getattr(kv, "close", None)
            if close is not None:
                close()
    extra = dict(suite=workload.suite, store=args.store, txs=sum(len(b) for b in workload.blocks),
                 block_size=len(workload.blocks[0]), runs=args.runs)
    for i, metric in enumerate(("decode_us_per_tx", "execute_us_per_tx", "commit_us_per_tx")):
        emit("profile_execution", metric, statistics.median(r[i] for r in results), **extra)
    if args.fingerprint:
        assert len(fingerprints) == 1, "runs of the same workload stored different records"
        emit("profile_execution", "fingerprint", 0, sha256=fingerprints.pop(), **extra)
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(30)


if __name__ == "__main__":
    main()
