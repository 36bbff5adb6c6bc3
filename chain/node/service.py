"""LedgerService: one ledger inside a node: admission, waiting for commits, queries, block production."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from chain.consensus.interfaces import ConsensusEngineAPI
from chain.contracts import ContractError, encode_value
from chain.consensus.solo import SoloEngine
from chain.crypto import Address, BatchVerifier, PrivateKey
from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import ChainStore, KVStore, Proposal
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.execution.contract_host import program_of
from chain.ledger.execution.overlay import Overlay
from chain.ledger.model import DataEntry, Event
from chain.ledger.receipt import Receipt
from chain.ledger.simulation import InvocationReport, simulate
from chain.ledger.transaction import Transaction
from chain.node.mempool import Mempool
from chain.node.snapshots import SnapshotFiles
from chain.timed_wait import wait_done

log = logging.getLogger(__name__)

_REJECTION_MEMORY = 100_000
MAX_HEADERS = 1_000  # headers (with certificates) per answer
MAX_OUTCOME_BLOCKS = 100  # blocks per `outcomes` answer
# Accepted-but-not-yet-settled transactions, journaled in the ledger's own store so a
# crash never drops what the node answered "accepted" (not ledger data: audits skip it).
JOURNAL = b"P"


def report_view(report: InvocationReport) -> dict[str, Any]:
    """A dry run's report for the client protocol: contract values travel as canonical CBOR bytes."""
    return {
        "contract": report.contract, "function": report.function, "version": report.version, "ok": report.ok,
        "value": encode_value(report.value), "gas_used": report.gas_used, "error": report.error,
        "error_code": report.error_code, "events": encode_value(report.events), "reads": encode_value(report.reads),
        "writes": encode_value(report.writes), "truncated": report.truncated,
        "steps": [[s.contract, s.function, s.line, s.gas, encode_value(s.locals)] for s in report.steps],
    }


def event_view(event: Event) -> dict[str, Any]:
    """A published event as a client sees it (contract events: account `contract:<name>`, content CBOR)."""
    return {"account": event.account, "topic": event.topic, "sequence": event.sequence, "content": event.content,
            "publisher": event.publisher, "height": event.height, "tx_hash": event.tx_hash}


def entry_view(account: str, key: str, entry: DataEntry) -> dict[str, Any]:
    """A data key as a block left it (what WriteKV and contracts' write_data wrote)."""
    return {"account": account, "key": key, "value": entry.value, "version": entry.version, "writer": entry.writer,
            "height": entry.height, "tx_hash": entry.tx_hash}


def receipt_view(receipt: Receipt) -> dict[str, Any]:
    """A receipt as a client sees it."""
    return {
        "tx_hash": receipt.tx_hash, "height": receipt.height, "index": receipt.index, "code": receipt.code,
        "code_name": ResultCode(receipt.code).name, "message": receipt.message, "failed_operation": receipt.failed_operation,
        "result": receipt.result,
    }


class LedgerService:
    """Owns one ledger's store, mempool and consensus engine."""

    def __init__(self, name: str, kv: KVStore, node_key: PrivateKey, verifier: BatchVerifier,
                 executor: ThreadPoolExecutor, interval_ms: int | None = None,
                 engine: Callable[[LedgerService], ConsensusEngineAPI] | None = None,
                 client_executor: ThreadPoolExecutor | None = None) -> None:
        self.name = name
        self.kv = kv
        self.chain = ChainStore(kv)
        self.node_key = node_key
        if engine is None and node_key.public_key().encode() not in self.chain.validators().keys():
            # a BFT node outside the committee observes until the ledger seats it; a solo node must sign
            raise LedgerError(f"this node's key is not a validator of ledger {name!r}", ResultCode.PERMISSION_DENIED)
        self.verifier = verifier
        self.executor = executor
        # Client work (admission with its synced journal write, scans, simulations) runs apart, so that a
        # block's execution and commit never queue behind it.
        self.client_executor = client_executor or executor
        settings = self.chain.settings()
        self.mempool = Mempool(self.chain.suite, self.chain.ledger_id, verifier.verify)
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._height_waiters: list[asyncio.Future[None]] = []
        self._rejected: OrderedDict[bytes, tuple[int, str]] = OrderedDict()
        self.address = Address.of(node_key.public_key(), self.chain.suite.hash_algorithm)
        self.recovered = self._recover_journal()
        self.snapshots = SnapshotFiles(self.chain)
        self.engine: ConsensusEngineAPI = engine(self) if engine is not None else SoloEngine(
            self._produce, lambda: len(self.mempool), interval_ms or settings.block_interval_ms, settings.max_block_txs)
        backlog = getattr(self.engine, "backlog", None)
        if backlog is not None:
            self.mempool.backlog = backlog

    def _recover_journal(self) -> int:
        """Re-admit transactions accepted before a crash; drop journal entries already settled."""
        entries = list(self.kv.iterate(JOURNAL))
        if not entries:
            return 0
        settings = self.chain.settings()
        verdicts = self.mempool.admit([raw for _, raw in entries], height=self.chain.height,
                                      settings=settings, recovering=True,  # accepted once: no quota turns them away
                                      committed=lambda h: self.chain.locate(h) is not None)
        stale = []
        for (key, _), verdict in zip(entries, verdicts):
            if not verdict.accepted:
                stale.append(key)
                if verdict.tx_hash is not None and verdict.code is not ResultCode.DUPLICATE:
                    self._remember_rejection(verdict.tx_hash, int(verdict.code), verdict.message)
        if stale:
            self.kv.apply({}, stale, sync=True)
        log.warning("ledger %s: recovered %d accepted transactions from the journal", self.name, len(entries) - len(stale))
        return len(entries) - len(stale)

    def _remember_rejection(self, tx_hash: bytes, code: int, message: str) -> None:
        self._rejected[tx_hash] = (code, message)
        while len(self._rejected) > _REJECTION_MEMORY:
            self._rejected.popitem(last=False)

    async def start(self) -> None:
        """Start producing blocks."""
        await self.engine.start()

    async def stop(self) -> None:
        """Stop after the block in progress."""
        await self.engine.stop()
        self.snapshots.close()

    # -- clients ----------------------------------------------------------------------

    async def submit(self, encoded: list[bytes]) -> list[dict[str, Any]]:
        """Admit transactions; each gets accepted or a rejection code and reason."""
        settings = self.chain.settings()
        height = self.chain.height
        loop = asyncio.get_running_loop()
        verdicts = await loop.run_in_executor(self.client_executor, self._admit_and_journal, encoded, height, settings)
        self.engine.transactions_arrived()
        return [self._verdict_view(v) for v in verdicts]

    @staticmethod
    def _verdict_view(verdict: Any) -> dict[str, Any]:
        """An admission verdict as a client sees it; a full pool says why (busy, sender_quota) and when to retry."""
        view = {"tx_hash": verdict.tx_hash, "accepted": verdict.accepted, "code": int(verdict.code),
                "code_name": verdict.code.name, "message": verdict.message}
        if verdict.refusal is not None:
            view["refusal"] = str(verdict.refusal.value)
            view["retry_after_ms"] = verdict.retry_after_ms
        return view

    async def wait(self, tx_hash: bytes, timeout_s: float) -> dict[str, Any]:
        """Block until the transaction is committed or rejected, or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.outcome(tx_hash)
            if found["status"] != "pending":
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return found
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(tx_hash, []).append(future)
            if not await wait_done(future, remaining):
                waiting = self._waiters.get(tx_hash, [])
                if future in waiting:
                    waiting.remove(future)
                if not waiting:
                    self._waiters.pop(tx_hash, None)

    def _admit_and_journal(self, encoded: list[bytes], height: int, settings: Any) -> list[Any]:
        verdicts = self.mempool.admit(encoded, height=height, settings=settings, committed=lambda h: self.chain.locate(h) is not None)
        accepted = {JOURNAL + v.tx_hash: raw for v, raw in zip(verdicts, encoded) if v.accepted and v.tx_hash is not None}
        if accepted:
            self.kv.apply(accepted, sync=True)  # durable before anyone hears "accepted"
        return verdicts

    def outcome(self, tx_hash: bytes) -> dict[str, Any]:
        """committed (with receipt), rejected (with reason) or pending."""
        receipt = self.chain.receipt(tx_hash)
        if receipt is not None:
            return {"status": "committed", "receipt": receipt_view(receipt)}
        if tx_hash in self._rejected:
            code, message = self._rejected[tx_hash]
            return {"status": "rejected", "code": code, "code_name": ResultCode(code).name, "message": message}
        return {"status": "pending"}

    # -- production -------------------------------------------------------------------

    async def _produce(self) -> int:
        loop = asyncio.get_running_loop()
        height, settled = await loop.run_in_executor(self.executor, self._produce_sync)
        self._wake(settled)
        return height

    async def wait_height(self, height: int, timeout_s: float) -> int:
        """The ledger height, once it reaches `height` or the timeout passes (a long poll for followers)."""
        deadline = time.monotonic() + timeout_s
        while self.chain.height < height:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._height_waiters.append(future)
            # re-check at least every second: a commit path that does not wake waiters costs latency, never a hang
            if not await wait_done(future, min(remaining, 1.0)) and future in self._height_waiters:
                self._height_waiters.remove(future)
        return self.chain.height

    def _wake(self, settled: list[bytes]) -> None:
        waiting, self._height_waiters = self._height_waiters, []
        for future in waiting:
            if not future.done():
                future.set_result(None)
        for tx_hash in settled:
            for future in self._waiters.pop(tx_hash, []):
                if not future.done():
                    future.set_result(None)

    async def commit_block(self, proposal: Proposal, certificate: CommitCertificate) -> None:
        """Commit a block certified by consensus, then settle its transactions (BFT engines call this)."""
        loop = asyncio.get_running_loop()

        def commit() -> list[bytes]:
            settled = self._commit(proposal, certificate)
            self._settle(proposal, settled)
            return settled

        self._wake(await loop.run_in_executor(self.executor, commit))

    def _commit(self, proposal: Proposal, certificate: CommitCertificate) -> list[bytes]:
        """Commit the block and drop the journal entries of the transactions it settles (included, or rejected at
        execution) in the same synced write; their hashes."""
        settled = [t.hash for t in proposal.transactions] + [t.hash for t, _ in proposal.rejected]
        self.chain.commit(proposal, certificate, dict.fromkeys((JOURNAL + h for h in settled), None))
        return settled

    def _settle(self, proposal: Proposal, settled: list[bytes]) -> None:
        """After a commit (which dropped their journal entries): remember rejections, clear the mempool's
        duplicate filter."""
        for tx, rejection in proposal.rejected:
            self._remember_rejection(tx.hash, int(rejection.result), str(rejection))
        self.mempool.forget(settled)
        log.info("ledger %s: block %d with %d transactions (%d rejected)", self.name, proposal.header.height,
                 len(proposal.transactions), len(proposal.rejected))

    def _produce_sync(self) -> tuple[int, list[bytes]]:
        settings = self.chain.settings()
        candidates = self.mempool.take(settings.max_block_txs)
        if not candidates:
            return self.chain.height, []
        try:
            proposal = self.chain.build(candidates, int(time.time() * 1000), self.node_key)
            block_hash = proposal.block_hash(self.chain.suite)
            certificate = CommitCertificate.sign(proposal.header.height, block_hash, [self.node_key])
            settled = self._commit(proposal, certificate)
        except BaseException:
            self.mempool.requeue(candidates)  # nothing was committed: keep every accepted transaction
            raise
        self._settle(proposal, settled)
        return proposal.header.height, settled

    # -- queries ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Head, ledger id and load."""
        head = self.chain.header(self.chain.height)
        status = {"name": self.name, "ledger_id": self.chain.ledger_id, "suite": self.chain.suite.name,
                  "height": head.height, "block_hash": head.hash(self.chain.suite), "timestamp_ms": head.timestamp_ms,
                  "mempool": len(self.mempool), "node_address": str(self.address),
                  "validators_since": self.chain.validators_since(),
                  "membership_changes": [{"address": str(Address.decode(c.address)), "state": c.state.name,
                                          "approvals": list(c.approvals), "activation_height": c.activation_height}
                                         for c in self.chain.membership_changes()]}
        engine_status = getattr(self.engine, "status", None)
        if engine_status is not None:
            status["consensus"] = engine_status()
        return status

    def block(self, height: int) -> dict[str, Any]:
        """A committed block with its receipts and certificate."""
        return {"header": self.chain.header(height).encode(), "transactions": self.chain.encoded_transactions(height),
                "receipts": [receipt_view(r) for r in self.chain.receipts(height)],
                "certificate": self.chain.certificate(height).encode(),
                "events": [event_view(e) for e in self.chain.events(height)],
                "entries": [entry_view(a, k, e) for a, k, e in self.chain.data_entries(height)]}

    def transaction(self, tx_hash: bytes) -> dict[str, Any]:
        """A committed transaction, its receipt and inclusion proof."""
        where = self.chain.locate(tx_hash)
        if where is None:
            raise LedgerError("transaction not found", ResultCode.NOT_FOUND)
        height, proof = self.chain.prove_transaction(tx_hash)
        _, encoded_receipt, receipt_proof = self.chain.prove_receipt(tx_hash)
        return {"height": height, "index": where[1], "transaction": self.chain.encoded_transactions(height)[where[1]],
                "receipt": receipt_view(self.chain.receipts(height)[where[1]]), "proof": proof.to_value(),
                "receipt_encoded": encoded_receipt, "receipt_proof": receipt_proof.to_value()}

    def state(self, key: bytes, height: int | None) -> dict[str, Any]:
        """A state value with its proof at a height (default latest)."""
        proof = self.chain.prove_state(key, height)
        return {"height": proof.height, "value": proof.value, "proof": proof.proof.to_cbor()}

    def headers(self, first: int, last: int) -> list[list[bytes]]:
        """[header, certificate] of blocks first..last (at most MAX_HEADERS, clipped to the head): for light clients."""
        last = min(last, self.chain.height, first + MAX_HEADERS - 1)
        return [[self.chain.header(h).encode(), self.chain.certificate(h).encode()] for h in range(first, last + 1)]

    def outcomes(self, first: int, last: int) -> list[list[Any]]:
        """[height, [[tx_hash, code], ...]] of blocks first..last (at most MAX_OUTCOME_BLOCKS, clipped to the head)."""
        last = min(last, self.chain.height, first + MAX_OUTCOME_BLOCKS - 1)
        return [[h, self.chain.outcomes(h)] for h in range(first, last + 1)]

    def history(self, key: bytes) -> list[list[Any]]:
        """Every (height, value) of a state key."""
        return [[h, v] for h, v in self.chain.state.history(key)]

    def simulate(self, encoded_tx: bytes, trace: bool, gas_limit: int | None, version: int | None) -> list[dict[str, Any]]:
        """Dry-run a signed transaction of InvokeContract operations on the latest state (nothing is committed)."""
        tx = Transaction.decode(self.chain.suite, encoded_tx, self.chain.settings().max_tx_bytes)
        return [report_view(r) for r in simulate(self.chain, tx, trace=trace, gas_limit=gas_limit, version=version)]

    def contract(self, name: str, version: int | None) -> dict[str, Any]:
        """A contract's record, the IR of its current (or a given) version and that version's ABI."""
        try:
            record, program = program_of(Overlay(self.chain.state), name, version)
        except ContractError as exc:
            raise LedgerError(str(exc), ResultCode.NOT_FOUND) from None
        wanted = record.version if version is None else version
        return {"name": record.name, "version": record.version, "shown_version": wanted, "code_hash": record.code_hash,
                "owners": list(record.owners), "state": record.state.name,
                "policy": {"threshold": record.policy.threshold, "participants": list(record.policy.participants)},
                "code": program.text.encode("utf-8"), "abi": encode_value(program.abi())}

    def scan(self, prefix: bytes, after: bytes | None, limit: int) -> list[list[bytes]]:
        """Up to `limit` latest [state_key, value] under a prefix, after a key (paging), in key order."""
        out: list[list[bytes]] = []
        for key, value in self.chain.state.scan(prefix, after):
            if len(out) >= limit:
                break
            out.append([key, value])
        return out

    def validators(self) -> list[list[bytes]]:
        """Current validators: [address, public key]."""
        return [[v.address, v.public_key] for v in self.chain.validators().validators]

