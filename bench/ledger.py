"""Ledger benchmark: single-node committed tx/s, state-proof rates, and commit cost growth.

python -m bench.ledger [--suite classic|sm|both] [--txs N] [--signers N] [--state-keys N] [--skip-throughput] [--skip-state]

Throughput: KV-write transactions from many distinct registered signers go
through admission (decode, checks, batch signature verification on all cores),
block building (execution, state tree update) and one synced LevelDB commit per
block, in-process and pipelined as in the node (one thread admits the next
block's transactions while another builds and commits): the figure is what the
node can commit, without the network.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time

from bench.report import emit, log
from chain.crypto import BatchVerifier, get_suite
from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import build_devnet
from chain.ledger.operations import ConfigureRole, RegisterDataAccount, RegisterUser, WriteKV
from chain.ledger.permissions import LedgerPermission, RolePolicy, TxPermission
from chain.ledger.smt import SparseMerkleTree, verify_proof
from chain.ledger.state_store import TREE
from chain.ledger.transaction import Transaction, TxContent
from chain.node.mempool import Mempool
from chain.storage import LevelDBKV


class _Bench:
    def __init__(self, suite_name: str, directory: str, verifier: BatchVerifier) -> None:
        self.net = build_devnet(suite_name)
        self.suite = get_suite(suite_name)
        self.kv = LevelDBKV(os.path.join(directory, suite_name))
        self.chain = ChainStore.create(self.kv, self.net.genesis, [v.key for v in self.net.validators])
        self.verifier = verifier
        self.mempool = Mempool(self.suite, self.chain.ledger_id, verifier.verify, capacity=1_000_000)
        self.clock = 10

    def commit(self, candidates) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        self.clock += 1
        proposal = self.chain.build(candidates, self.net.time_ms(self.clock), self.net.validators[0].key)
        cert = CommitCertificate.sign(proposal.header.height, proposal.block_hash(self.suite), [self.net.validators[0].key])
        self.chain.commit(proposal, cert)
        return len(proposal.transactions), len(proposal.rejected)

    def tx(self, ops, signer, ttl: int = 900) -> Transaction:  # type: ignore[no-untyped-def]
        content = TxContent(self.chain.ledger_id, os.urandom(12), self.chain.height + ttl, tuple(ops))
        return Transaction.create(self.suite, content, [signer])

    def pipeline(self, encoded: list[bytes], block_size: int) -> int:
        """As in the node: one thread admits (verifying on the pool) while this one builds and commits blocks."""
        import threading

        settings = self.chain.settings()
        errors: list[BaseException] = []

        def admit() -> None:
            try:
                for i in range(0, len(encoded), block_size):
                    while len(self.mempool) > 2 * block_size:
                        time.sleep(0.001)
                    verdicts = self.mempool.admit(encoded[i:i + block_size], height=self.chain.height,
                                                  settings=settings,
                                                  committed=lambda h: False)
                    assert all(v.accepted for v in verdicts)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        admitter = threading.Thread(target=admit)
        admitter.start()
        committed = 0
        while committed < len(encoded) and not errors:
            candidates = self.mempool.take(block_size)
            if not candidates:
                time.sleep(0.001)
                continue
            ok, rejected = self.commit(candidates)
            assert not rejected
            committed += ok
        admitter.join()
        if errors:
            raise errors[0]
        return committed

    def admit_and_commit(self, txs: list[Transaction] | list[bytes], block_size: int) -> int:
        """Admit (as a node receives them: bytes) and commit in blocks of block_size."""
        settings = self.chain.settings()
        committed = 0
        encoded = [t if isinstance(t, bytes) else t.encode() for t in txs]
        for i in range(0, len(encoded), block_size):
            chunk = encoded[i:i + block_size]
            verdicts = self.mempool.admit(chunk, height=self.chain.height, settings=settings, committed=lambda h: self.chain.locate(h) is not None)
            assert all(v.accepted for v in verdicts), [v for v in verdicts if not v.accepted][:1]
            ok, rejected = self.commit(self.mempool.take(block_size))
            assert not rejected
            committed += ok
        return committed


def throughput(suite_name: str, txs: int, signers: int, block_size: int, verifier: BatchVerifier) -> None:
    with tempfile.TemporaryDirectory() as directory:
        b = _Bench(suite_name, directory, verifier)
        admin = b.net.admins[0]
        setup = b.tx([ConfigureRole("WRITER", int(LedgerPermission.WRITE_ANY_DATA_ACCOUNT), int(TxPermission.DIRECT_OPERATION)),
                      RegisterDataAccount("bench", ())], admin.key)
        b.admit_and_commit([setup], 1)
        log(f"{suite_name}: registering {signers} signers")
        members = [b.net.issue("org1", f"signer{i}") for i in range(signers)]
        for i in range(0, signers, 200):
            regs = [RegisterUser(m.certificate.der, ("WRITER",), RolePolicy.UNION) for m in members[i:i + 200]]
            b.admit_and_commit([b.tx(regs, admin.key)], 1)
        log(f"{suite_name}: signing {txs} transactions")
        batch = [b.tx([WriteKV("bench", f"k{n}", b"v" * 64, None)], members[n % signers].key) for n in range(txs)]
        encoded = [t.encode() for t in batch]  # clients send bytes; encoding is their cost
        warm, rest = encoded[: block_size * 2], encoded[block_size * 2:]
        b.admit_and_commit(warm, block_size)
        start = time.perf_counter()
        committed = b.pipeline(rest, block_size)
        took = time.perf_counter() - start
        emit("ledger", f"{suite_name}/committed_tx_per_s", committed / took, txs=committed, signers=signers,
             block_size=block_size, workers=verifier.workers + 1)
        b.kv.close()


def state_proofs(keys: int, samples: int) -> None:
    """Proof generation and verification on a LevelDB-backed tree of `keys` keys; commit cost as it grows."""
    sha = lambda data: hashlib.sha256(data).digest()  # noqa: E731
    with tempfile.TemporaryDirectory() as directory:
        kv = LevelDBKV(os.path.join(directory, "tree"))

        class Reader:
            def get(self, key: bytes) -> bytes | None:
                return kv.get(TREE + key)

        tree = SparseMerkleTree(Reader(), sha)  # the node's default node cache
        version = 0
        inserted = 0
        checkpoints = [10**4, 10**5, 10**6, 10**7]
        rng = random.Random(7)
        step = 50_000
        while inserted < keys:
            target = min([c for c in checkpoints if c > inserted] + [keys])
            size = min(step, target - inserted)
            changes = {sha(b"key%d" % (inserted + i)): sha(b"v%d" % (inserted + i)) for i in range(size)}
            update = tree.update(version if version else None, version + 1, changes)
            kv.apply({TREE + k: v for k, v in update.writes.items()}, sync=False)
            version += 1
            inserted += size
            if inserted in checkpoints or inserted == keys:
                times, records = [], []
                for _ in range(5):
                    batch = {sha(b"key%d" % rng.randrange(inserted)): sha(os.urandom(8)) for _ in range(1000)}
                    t0 = time.perf_counter()
                    update = tree.update(version, version + 1, batch)
                    kv.apply({TREE + k: v for k, v in update.writes.items()}, sync=True)
                    times.append(time.perf_counter() - t0)
                    records.append(len(update.writes))
                    version += 1
                median_ms, median_records = sorted(times)[2] * 1000, sorted(records)[2]
                # Cost is records rewritten x a per-record constant; records grow by a constant per
                # decade of state size (one more 16-ary level per 16x), which is what logarithmic means.
                emit("ledger", "state/commit_1000_keys_ms", median_ms, state_keys=inserted,
                     records_written=median_records, us_per_record=round(median_ms * 1000 / median_records, 1))
                log(f"state: {inserted} keys")
        root = tree.root_hash(version)
        probe = [sha(b"key%d" % rng.randrange(keys)) for _ in range(samples)]
        tree._cache.clear()
        t0 = time.perf_counter()
        proofs = [tree.prove(version, k) for k in probe]
        emit("ledger", "state/proof_generation_per_s_cold", samples / (time.perf_counter() - t0), state_keys=keys,
             cache="empty at start")
        probe = [sha(b"key%d" % rng.randrange(keys)) for _ in range(samples)]  # fresh keys; upper levels now cached
        t0 = time.perf_counter()
        proofs = [tree.prove(version, k) for k in probe]
        emit("ledger", "state/proof_generation_per_s", samples / (time.perf_counter() - t0), state_keys=keys,
             cache="warm (as in a running node), keys not seen before")
        values = [tree.get(version, k) for k in probe]
        t0 = time.perf_counter()
        for k, v, p in zip(probe, values, proofs):
            verify_proof(sha, root, k, v, p)
        emit("ledger", "state/proof_verification_per_s", samples / (time.perf_counter() - t0), state_keys=keys,
             mean_depth=round(sum(len(p.siblings) for p in proofs) / samples, 1))
        kv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=["classic", "sm", "both"], default="both")
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--signers", type=int, default=1_000)
    parser.add_argument("--block-size", type=int, default=2_000)
    parser.add_argument("--state-keys", type=int, default=1_000_000)
    parser.add_argument("--proof-samples", type=int, default=20_000)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-state", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        with BatchVerifier(serial_below=64) as verifier:
            verifier.start()
            for suite in (["classic", "sm"] if args.suite == "both" else [args.suite]):
                throughput(suite, args.txs, args.signers, args.block_size, verifier)
    if not args.skip_state:
        state_proofs(args.state_keys, args.proof_samples)


if __name__ == "__main__":
    main()
