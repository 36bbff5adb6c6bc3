"""The BFT engine of a node's ledger: the asyncio shell around the pure Replica.

It carries consensus messages over chain.net, cuts the mempool into batches
and spreads them to every validator (proposals carry only digests), fetches
batches it lacks, executes committed blocks in order on a worker thread, and
certifies each resulting ledger block with a quorum of validator signatures
over its hash (the execution certificate, agreed after ordering so that
ordering never waits for execution). See docs/consensus.md.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence, cast

from chain.codec import CodecError, decode, encode
from chain.codec.schema import from_cbor, to_cbor
from chain.consensus.attestations import BatchAttestation, attesters, pack_verdicts
from chain.consensus.batches import Batch, BatchBuilder, BatchError, BatchRequest, BatchResponse, BatchStore, answer
from chain.consensus.bft.actions import Action, Broadcast, Commit, FetchBatches, Send, Wake
from chain.consensus.bft.committee import Committee, SignatureCache
from chain.consensus.bft.errors import MalformedMessage
from chain.consensus.bft.genesis import epoch_genesis
from chain.consensus.bft.messages import (
    Block,
    CertifiedBlock,
    Message,
    Proposal as BlockProposal,
    SyncRequest,
    SyncResponse,
    decode_message,
    encode_message,
)
from chain.consensus.bft.replica import Replica, ReplicaConfig
from chain.consensus.bft.storage import RoundRecord
from chain.consensus.interfaces import ConsensusEngineAPI
from chain.crypto import Address, verify_encoded
from chain.ledger.block import COMMIT_DOMAIN, CommitCertificate, Vote
from chain.ledger.chain_store import Candidate, Proposal
from chain.ledger.block_sync import BlockSync, SyncError
from chain.net import Network
from chain.node.batch_checks import BatchChecks, Decoded, decode_batch, verify_batches
from chain.node.catchup import CatchUpError, anchor_key, anchor_records, check_anchor, heights, parse, serve
from chain.timed_wait import wait_event

if TYPE_CHECKING:
    from chain.node.service import LedgerService

log = logging.getLogger(__name__)

# Node-local consensus records in the ledger's store (not ledger data: the audit skips the prefix).
CONSENSUS_PREFIX = b"O"  # O for ordering
ROUND_KEY = CONSENSUS_PREFIX + b"round"
TIP_KEY = CONSENSUS_PREFIX + b"tip"
VOTED_PREFIX = CONSENSUS_PREFIX + b"voted/"  # + height (8 bytes) + block id: a block this node voted for
VOTED_BATCH_PREFIX = CONSENSUS_PREFIX + b"vbatch/"  # + digest: a batch carried by a voted block

CONSENSUS, BATCH, BATCH_REQUEST, BATCH_RESPONSE, EXEC_VOTE, CERT_REQUEST, CERT_RESPONSE = range(1, 8)
CATCHUP_REQUEST, CATCHUP_RESPONSE = 8, 9
ATTESTATION = 10
CATCHUP_STALL_S = 2.0  # no ledger progress for this long: ask a peer (in turn) for certified ledger blocks
EXEC_VOTE_WINDOW = 256  # heights above ours for which execution votes are buffered
CERT_ASK_AFTER_S = 0.5
EXECUTED_MEMORY = 100_000  # digests of executed batches remembered (a re-proposed one is skipped)
EPOCH_DOMAIN = b"chain/bft/epoch/v1\x00"
PAST_EPOCHS = 4  # ended epochs whose committed blocks are still served to peers catching up
EPOCH_SYNC_RETRY_S = 0.5


class Diverged(Exception):
    """A quorum certified a different result for a block than this node computed: stop rather than fork."""


_COUNTS = ("blocks", "transactions", "pipelined_blocks")  # timings entries that count rather than time
MAX_INTERVAL_FACTOR = 4  # proposals at most this many minimum intervals apart under backlog


def paced_interval(base_ms: int, backlog: int) -> int:
    """Least spacing of our proposals when `backlog` ordered blocks await execution here: the minimum up to two,
    then one more minimum per extra block (at most MAX_INTERVAL_FACTOR): fuller blocks share the per-block costs
    (certificate exchange, synced commit) that otherwise let an overloaded node fall further behind."""
    return base_ms if backlog <= 2 else min(base_ms * (backlog - 1), base_ms * MAX_INTERVAL_FACTOR)


@dataclass(frozen=True)
class BftSettings:
    """Engine parameters (from the node config's consensus section)."""

    replica: ReplicaConfig = ReplicaConfig(min_block_interval_ms=250)
    batch_size: int = 500
    batch_timeout_ms: int = 50


class LedgerConsensusStorage:
    """Round record, the blocks of the replica's tree (with their batches) and executed tip in the ledger's LevelDB.

    Records of an earlier epoch are not this epoch's: they read as absent. A
    block is kept when it joins the tree; a voted block's batches are written
    in the same synced batch as the round record that allows the vote; both
    are deleted once the node has executed past them (see
    chain/consensus/bft/storage.py for why).
    """

    def __init__(self, kv: Any, digest: Callable[[bytes], bytes], batches: Callable[[bytes], Batch | None],
                 epoch: int = 0) -> None:
        self.kv = kv
        self.digest = digest
        self.batches = batches
        self.epoch = epoch
        # key -> (epoch, height, payload, digests of the payload whose batches are kept)
        self._voted: dict[bytes, tuple[int, int, tuple[bytes, ...], set[bytes]]] = {}
        kept = {key[len(VOTED_BATCH_PREFIX):] for key, _ in kv.iterate(VOTED_BATCH_PREFIX)}
        for key, raw in kv.iterate(VOTED_PREFIX):
            block = from_cbor(Block, raw)
            self._voted[key] = (block.epoch, block.height, block.payload, kept.intersection(block.payload))

    def load_round(self) -> RoundRecord | None:
        """The persisted round record of this epoch."""
        raw = self.kv.get(ROUND_KEY)
        record = None if raw is None else from_cbor(RoundRecord, raw)
        return record if record is not None and record.safety.epoch == self.epoch else None

    def save_round(self, record: RoundRecord, voted: Block | None = None) -> None:
        """Persist durably, with the block voted for and its batches, before the vote or timeout goes out."""
        puts = {ROUND_KEY: to_cbor(record)}
        if voted is not None:
            puts.update(self._block_records(voted))
        self.kv.apply(puts, sync=True)

    def save_block(self, block: Block) -> None:
        """Keep a block of the tree and the batches of it held now (made durable by the next save_round)."""
        puts = self._block_records(block)
        if puts:
            self.kv.apply(puts, sync=False)

    def _block_records(self, block: Block) -> dict[bytes, bytes]:
        """The records of a block and of its batches not kept yet."""
        key = VOTED_PREFIX + block.height.to_bytes(8, "big") + block.id(self.digest)
        known = self._voted.get(key)
        puts: dict[bytes, bytes] = {} if known is not None else {key: to_cbor(block)}
        kept = known[3] if known is not None else set()
        for digest in block.payload:
            if digest not in kept and (batch := self.batches(digest)) is not None:
                puts[VOTED_BATCH_PREFIX + digest] = batch.encoded
                kept.add(digest)
        self._voted[key] = (block.epoch, block.height, block.payload, kept)
        return puts

    def load_blocks(self) -> list[Block]:
        """The blocks kept in this epoch and not executed yet."""
        return [b for b in (from_cbor(Block, raw) for _, raw in self.kv.iterate(VOTED_PREFIX)) if b.epoch == self.epoch]

    def load_batches(self) -> list[bytes]:
        """The batches kept with blocks (encoded)."""
        return [raw for _, raw in self.kv.iterate(VOTED_BATCH_PREFIX)]

    def forget_through(self, epoch: int, height: int) -> None:
        """Executed up to `height` of `epoch`: drop kept blocks at or below it (and of earlier epochs), with their batches."""
        stale = [k for k, (e, h, _, _) in self._voted.items() if e < epoch or (e == epoch and h <= height)]
        if not stale:
            return
        kept = {d for k, (_, _, payload, _) in self._voted.items() if k not in stale for d in payload}
        dropped = {d for k in stale for d in self._voted[k][3]} - kept
        self.kv.apply({}, deletes=[*stale, *(VOTED_BATCH_PREFIX + d for d in sorted(dropped))], sync=False)
        for key in stale:
            del self._voted[key]

    def load_committed(self) -> CertifiedBlock | None:
        """The last consensus block whose ledger effects are committed."""
        tip = self.last_executed()
        return tip if tip is not None and tip.block.epoch == self.epoch else None

    def last_executed(self) -> CertifiedBlock | None:
        """The last consensus block executed, of whatever epoch."""
        raw = self.kv.get(TIP_KEY)
        return None if raw is None else from_cbor(CertifiedBlock, raw)

    def save_committed(self, tip: CertifiedBlock) -> None:
        """Ignored: the engine writes the tip together with the ledger block it produced."""


class _OwnSource:
    """The mempool as the batch builder's source, remembering what it took (already verified candidates)."""

    def __init__(self, service: LedgerService) -> None:
        self.service = service
        self.taken: list[Candidate] = []

    def __len__(self) -> int:
        return len(self.service.mempool)

    def take(self, limit: int, max_bytes: int | None = None) -> Sequence[Candidate]:
        self.taken = self.service.mempool.take(limit, max_bytes)
        return self.taken


@dataclass
class _Job:
    """A committed consensus block to execute: its transactions, and its execution if it is under way already."""

    certified: CertifiedBlock
    candidates: list[Candidate]
    t0: float
    built: asyncio.Future[Proposal] | None = None


class BftEngine(ConsensusEngineAPI):
    """Orders batches with the Replica, executes committed blocks, certifies their results."""

    def __init__(self, service: LedgerService, network_factory: Callable[[Callable[[str, bytes], Any]], Network],
                 settings: BftSettings = BftSettings(), clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.chain = service.chain
        self.suite = self.chain.suite
        self.settings = settings
        self.clock = clock
        self.own_key = service.node_key.public_key().encode()
        self.own_address = service.address.encode()
        self.replica_config = settings.replica
        self._signatures = SignatureCache(verify_encoded)
        # Proposals are bounded by the ledger's block size in transactions, however the batches were cut.
        self.batches = BatchStore(self.suite, own=self.own_address, block_txs=self.chain.settings().max_block_txs)
        self.storage = LedgerConsensusStorage(service.kv, self.suite.digest, self.batches.get)
        self._past: OrderedDict[int, Replica] = OrderedDict()
        self._epoch_sync_asked = 0.0
        self._ledger_lock = asyncio.Lock()
        self._last_progress = clock()
        self._catchup_turn = 0
        self.caught_up_blocks = 0  # ledger blocks taken by catch-up rather than executed from consensus
        # Ledger blocks applied by catch-up without the consensus block that produced the head: consensus
        # cannot resume (it would execute a block twice) until an answer brings that anchor.
        self._ledger_ahead = self.chain.height > 0 and service.kv.get(anchor_key(self.chain.height)) is None
        self.checks = BatchChecks()
        self._enter_epoch()
        self._source = _OwnSource(service)
        self.builder = BatchBuilder(self.own_address, self._source, max_txs=settings.batch_size,
                                    max_delay_ms=settings.batch_timeout_ms, next_sequence=int(self.clock() * 1000) << 8)
        self.network = network_factory(self._on_network_message)
        self._candidates: dict[bytes, list[Candidate]] = {}
        self._executed: OrderedDict[bytes, None] = OrderedDict()
        self._awaited: set[bytes] = set()
        self._ordered: Counter[bytes] = Counter()  # digests of ordered blocks not yet executed
        self._thread_work: set[asyncio.Future[Any]] = set()
        self._commits: deque[CertifiedBlock] = deque()  # committed consensus blocks waiting for execution
        self._commit_arrived = asyncio.Event()
        self._exec_votes: dict[int, dict[bytes, dict[bytes, bytes]]] = {}
        self._certificates: dict[int, CommitCertificate] = {}
        self._batch_arrived = asyncio.Event()
        self._progress = asyncio.Event()
        self._wake_at = 0.0
        self._timer_changed = asyncio.Event()
        self._work = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.diverged: str | None = None
        self.failure: str | None = None
        self.stage = "idle"
        self.timings: dict[str, float] = {}  # seconds spent per execution phase, for operators and benchmarks
        self._verifying: set[bytes] = set()

    # ---- epochs ---------------------------------------------------------------------------------

    def _enter_epoch(self) -> None:
        """Take the committee and starting point of the epoch the ledger state is in (its first height is its number).

        A node outside the committee follows as an observer: it executes and
        certifies-by-fetching what the committee orders, and joins when the
        ledger makes it a validator.
        """
        validators = self.chain.validators().validators
        self.epoch = self.chain.validators_since()
        self.keys = tuple(v.public_key for v in validators)
        self.addresses = tuple(v.address for v in validators)
        self.node_ids = tuple(str(Address.decode(v.address)) for v in validators)
        self.index_of = {node_id: i for i, node_id in enumerate(self.node_ids)}
        self.me: int | None = self.keys.index(self.own_key) if self.own_key in self.keys else None
        self.committee = Committee(self.epoch, self.keys, self._signatures)
        self.checks.new_epoch(self.keys, self.committee.faults, self._signatures)
        # From the ledger id and the epoch only: a node restored from a snapshot lacks old headers.
        anchor = self.suite.digest(EPOCH_DOMAIN + self.chain.ledger_id + self.epoch.to_bytes(8, "big"))
        genesis = epoch_genesis(self.epoch, 0, anchor, 0, self.suite.digest)
        self.storage.epoch = self.epoch
        key = self.service.node_key if self.me is not None else None
        self.replica = Replica(self.committee, -1 if self.me is None else self.me, key, self.suite.digest, self.storage,
                               self.batches, genesis, self.replica_config)
        self.executed_tip = self.replica.tree.committed

    def _end_epoch(self) -> None:
        """The ledger changed the validator set: blocks the old committee ordered after this point are void.

        Their batches become proposable again, so nothing they carried is lost;
        the old epoch's committed chain is kept a while for peers catching up.
        """
        self._restart_consensus(reopen_queued=True)
        log.warning("ledger %s: epoch %d begins with %d validators%s", self.service.name, self.epoch, len(self.keys),
                    "" if self.me is not None else " (this node observes)")

    def _restart_consensus(self, reopen_queued: bool) -> None:
        """A fresh replica of the epoch the ledger is in, from the stored tip; queued commits are dropped.

        Dropped blocks of an ended epoch are void (reopen their batches); dropped blocks of
        the same epoch are re-learned from peers by the new replica.
        """
        old = self.replica
        if old.committee.epoch != self.chain.validators_since():
            self._past[old.committee.epoch] = old
            while len(self._past) > PAST_EPOCHS:
                self._past.popitem(last=False)
        queued: list[bytes] = []
        while self._commits:
            block = self._commits.popleft().block
            queued.extend(block.payload)
            self._done_with(block)
        self.batches.clear_pins()
        if reopen_queued:
            self.batches.reopen(d for d in queued if d not in self._executed)
        self._enter_epoch()
        self._perform(self.replica.start(self.now_ms()))
        self._work.set()

    # ---- life cycle -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        """Wall-clock milliseconds (block timestamps are calendar time)."""
        return int(self.clock() * 1000)

    async def start(self) -> None:
        """Connect to the other validators and take part in consensus."""
        await self.network.start()
        await self._restore_voted_batches()
        self._perform(self.replica.start(self.now_ms()))
        for name, loop in (("timer", self._timer_loop), ("batches", self._batch_loop), ("execute", self._execute_loop),
                           ("catch-up", self._catchup_loop)):
            self._tasks.append(asyncio.create_task(self._guard(name, loop), name=f"bft-{name}-{self.service.name}"))
        if len(self.service.mempool):
            self._work.set()  # transactions recovered from the journal: batch them without waiting for new ones

    async def _restore_voted_batches(self) -> None:
        """Take back the batches of blocks voted for before a restart (their blocks may commit only now)."""
        batches = []
        for raw in self.storage.load_batches():
            try:
                batches.append(Batch.decode(raw))
            except (BatchError, CodecError, ValueError) as exc:
                log.warning("ledger %s: a kept batch does not decode (%s); peers will be asked for it", self.service.name, exc)
        if batches:
            await self._receive_batches(batches, pusher=None)
            log.info("ledger %s: %d batches of voted blocks restored", self.service.name, len(batches))

    async def _guard(self, name: str, loop: Callable[[], Any]) -> None:
        """Run one of the engine's loops; if it fails, say so loudly and record it (the node stops ordering)."""
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Diverged:
            pass
        except Exception as exc:
            self.failure = f"{name} loop failed: {exc!r}"
            log.critical("ledger %s: consensus %s", self.service.name, self.failure, exc_info=True)

    async def stop(self) -> None:
        """Stop taking part; work running on a thread (executing, committing) is finished first, never cut short."""
        self._stopping = True
        for task in self._tasks:
            while not task.done():  # a loop that missed a cancel is cancelled again
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
        if self._thread_work:
            await asyncio.gather(*self._thread_work, return_exceptions=True)
        await self.network.stop()

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn on the ledger's worker threads; a cancelled caller does not cut it short (stop waits for it)."""
        return await self._uncancellable(asyncio.get_running_loop().run_in_executor(self.service.executor, fn, *args))

    async def _uncancellable(self, work: Awaitable[Any]) -> Any:
        """Await work that must finish once started (stop waits for it rather than cancelling it)."""
        future = asyncio.ensure_future(work)
        self._thread_work.add(future)
        future.add_done_callback(self._thread_work.discard)
        return await asyncio.shield(future)

    def backlog(self) -> int:
        """Transactions accepted here and batched but not yet ordered (they count against the mempool's capacity)."""
        return self.batches.unordered_txs(self.own_address)

    def transactions_arrived(self) -> None:
        """The mempool has new transactions: maybe cut a batch."""
        self._work.set()

    def status(self) -> dict[str, Any]:
        """Consensus view for operators."""
        return {"epoch": self.epoch, "validator": self.me is not None, "committee": list(self.node_ids),
                "round": self.replica.round, "committed_consensus_height": self.replica.tree.committed.height,
                "executed_consensus_height": self.executed_tip.height, "high_qc_round": self.replica.tree.high_qc.round,
                "batches": len(self.batches), "peers_connected": sorted(self.network.connected_peers()),
                "diverged": self.diverged, "failure": self.failure, "stage": self.stage, "pending_commits": len(self._commits),
                "caught_up_blocks": self.caught_up_blocks, "verification": self.checks.status(), "ledger_ahead_of_consensus": self._ledger_ahead,
                "timings_ms": {k: int(v) if k in _COUNTS else int(v * 1000) for k, v in self.timings.items()}, "refused": dict(self.replica.refused)}

    # ---- wiring ---------------------------------------------------------------------------------

    def _send(self, to: int, channel: int, body: bytes) -> None:
        self.network.send(self.node_ids[to], encode([channel, body]))

    def _broadcast(self, channel: int, body: bytes) -> None:
        self.network.broadcast(encode([channel, body]))

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                self._broadcast(CONSENSUS, encode_message(action.message))
            elif isinstance(action, Send):
                self._send(action.to, CONSENSUS, encode_message(action.message))
            elif isinstance(action, Commit):
                for certified in action.blocks:  # the replica has released their batches already
                    self._ordered.update(certified.block.payload)
                    self._commits.append(certified)
                self._commit_arrived.set()
                self._pace()
            elif isinstance(action, FetchBatches):
                request = BatchRequest(tuple(action.digests)).encode()
                self._send(action.peer, BATCH_REQUEST, request)
                for other in range(len(self.keys)):
                    if other not in (self.me, action.peer):
                        self._send(other, BATCH_REQUEST, request)
            elif isinstance(action, Wake):
                self._wake_at = action.at_ms / 1000
                self._timer_changed.set()

    async def _on_network_message(self, node_id: str, payload: bytes) -> None:
        """Called by chain.net for each authenticated payload (from a validator or an observing node)."""
        if self._stopping:
            return
        try:
            value = decode(payload)
            if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and isinstance(value[1], bytes)):
                raise MalformedMessage("expected [channel, bytes]")
            channel, body = cast(int, value[0]), cast(bytes, value[1])
            await self._dispatch(node_id, channel, body)
        except (CodecError, MalformedMessage, BatchError, ValueError) as exc:
            self.replica.refused["malformed"] += 1
            log.debug("ledger %s: refused a message from %s: %s", self.service.name, node_id, exc)

    async def _dispatch(self, node_id: str, channel: int, body: bytes) -> None:
        sender = self.index_of.get(node_id)
        if channel == CONSENSUS:
            self._on_consensus(node_id, sender, decode_message(body))
        elif channel == BATCH:
            if sender is not None:  # only members push batches; anyone may fetch them
                await self._receive_batches([Batch.decode(body)], pusher=self.addresses[sender])
        elif channel == BATCH_REQUEST:
            response = answer(BatchRequest.decode(body), self.batches)
            if response.batches:
                self.network.send(node_id, encode([BATCH_RESPONSE, response.encode()]))
        elif channel == BATCH_RESPONSE:
            await self._receive_batches(list(BatchResponse.decode(body).batches), pusher=None)
        elif channel == EXEC_VOTE:
            self._on_exec_vote(body)
        elif channel == CERT_REQUEST:
            self._on_cert_request(node_id, body)
        elif channel == CERT_RESPONSE:
            self._on_cert_response(body)
        elif channel == ATTESTATION:
            if sender is not None:
                self._on_attestation(sender, body)
        elif channel == CATCHUP_REQUEST:
            await self._on_catchup_request(node_id, body)
        elif channel == CATCHUP_RESPONSE:
            await self._on_catchup_response(node_id, body)

    def _on_consensus(self, node_id: str, sender: int | None, message: Message) -> None:
        """Route by epoch: ours to the replica, an ended one's sync requests to its archive, a later one means catch up."""
        epoch = message.block.epoch if isinstance(message, BlockProposal) else message.epoch
        now = self.now_ms()
        if epoch > self.epoch:
            self._ask_epoch_sync(node_id)
        elif isinstance(message, SyncRequest):
            replica = self.replica if epoch == self.epoch else self._past.get(epoch)
            response = replica.sync_response(message) if replica is not None else None
            if response is not None:
                self.network.send(node_id, encode([CONSENSUS, encode_message(response)]))
        elif epoch < self.epoch:
            return
        elif sender is not None:
            self._perform(self.replica.receive(sender, message, now))
        elif isinstance(message, SyncResponse):  # self-certifying: any peer may answer an observer
            self._perform(self.replica.receive(self.committee.leader(self.replica.round), message, now))

    def _ask_epoch_sync(self, node_id: str) -> None:
        """A peer is in a later epoch: fetch the rest of our epoch's committed chain from it (rate limited)."""
        if self.clock() - self._epoch_sync_asked < EPOCH_SYNC_RETRY_S:
            return
        self._epoch_sync_asked = self.clock()
        request = SyncRequest(self.epoch, self.replica.tree.committed.height, b"")
        self.network.send(node_id, encode([CONSENSUS, encode_message(request)]))

    # ---- batches --------------------------------------------------------------------------------

    async def _receive_batches(self, batches: list[Batch], pusher: bytes | None) -> None:
        fresh = []
        for batch in batches:
            digest = batch.digest(self.suite)
            if (digest in self._candidates or digest in self.checks.pending or digest in self._executed
                    or digest in self._verifying):
                continue
            self._verifying.add(digest)
            fresh.append((digest, batch, self._attesting(batch)))
        if not fresh:
            return
        try:
            checked = await self._in_thread(self._check_batches, [(b, attest) for _, b, attest in fresh])
            added = False
            for (digest, batch, attest), outcome in zip(fresh, checked):
                try:
                    self.batches.add(batch, pusher=pusher)
                except BatchError as exc:
                    if digest not in self._awaited:  # execution waiting for an ordered batch takes it regardless
                        log.debug("ledger %s: batch refused: %s", self.service.name, exc)
                        continue
                if isinstance(outcome, Decoded):
                    self.checks.pending[digest] = outcome
                    self._settle(digest)
                else:
                    candidates, packed = outcome
                    self._checked(digest, candidates)
                    self._attest(digest, packed)
                added = True
        finally:
            self._verifying.difference_update(d for d, _, _ in fresh)
        if added:
            self._batch_arrived.set()
            self._perform(self.replica.batches_arrived(self.now_ms()))

    def _attesting(self, batch: Batch) -> bool:
        """Whether this node is one of the f validators after the batch's author that check and attest it."""
        author = self.addresses.index(batch.author) if batch.author in self.addresses else None
        return (self.me is not None and author is not None
                and self.me in attesters(author, len(self.keys), self.committee.faults))

    def _attest(self, digest: bytes, packed: bytes) -> None:
        """Sign and send our verdicts on a batch to every peer."""
        if self.me is None:
            return
        signature = self.service.node_key.sign(BatchAttestation.signed_bytes(digest, packed)).encode()
        self._broadcast(ATTESTATION, BatchAttestation(digest, packed, self.own_key, signature).encode())
        self.checks.counts["attestations_sent"] += 1

    def _on_attestation(self, sender: int, body: bytes) -> None:
        att = BatchAttestation.decode(body)
        if att.key != self.keys[sender]:
            raise MalformedMessage("a member sends only its own attestations")
        if not self.checks.book.add(att):
            raise MalformedMessage("attestation with an invalid signature")
        if self._settle(att.digest):
            self._batch_arrived.set()

    def _settle(self, digest: bytes) -> bool:
        """Take a held batch's candidates from f+1 matching attestations, if there are that many yet."""
        candidates = self.checks.settle(digest)
        if candidates is not None:
            self._candidates[digest] = candidates
        return candidates is not None

    def _checked(self, digest: bytes, candidates: list[Candidate]) -> None:
        """Candidates whose signatures this node verified itself."""
        self._candidates[digest] = candidates
        self.checks.counts["verified_txs"] += len(candidates)

    def _prune_candidates(self) -> None:
        """Forget verified candidates (and unsettled batches) the store has evicted and no ordered block still needs."""
        for digest in [d for d in (*self._candidates, *self.checks.pending)
                       if d not in self.batches and d not in self._ordered and d not in self._awaited]:
            self._candidates.pop(digest, None)
            self.checks.forget(digest)

    def _check_batches(self, batches: list[tuple[Batch, bool]]) -> list[Decoded | tuple[list[Candidate], bytes]]:
        """Decode every batch; verify (in one pooled call) those this node attests (worker thread)."""
        max_bytes = self.chain.settings().max_tx_bytes
        decoded = [decode_batch(self.suite, batch, max_bytes) for batch, _ in batches]
        to_verify = [d for d, (_, attest) in zip(decoded, batches) if attest]
        verified = iter(verify_batches(self.service.verifier.verify, to_verify))
        return [next(verified) if attest else d for d, (_, attest) in zip(decoded, batches)]

    async def _verify_pending(self, digests: list[bytes]) -> None:
        """Check held batches ourselves: execution needs them before f+1 attestations arrived."""
        decoded = [self.checks.pending[d] for d in digests]
        checked = await self._in_thread(verify_batches, self.service.verifier.verify, decoded)
        for digest, (candidates, _) in zip(digests, checked):
            if self.checks.pending.pop(digest, None) is not None:  # unless attestations settled it meanwhile
                self._checked(digest, candidates)
        self.checks.counts["fallback_batches"] += len(digests)

    async def _batch_loop(self) -> None:
        """Cut own batches from the mempool, keep them and push them to everyone."""
        while True:
            deadline = self.builder.deadline_ms()
            timeout = None if deadline is None else max(0.0, deadline / 1000 - self.clock())
            await wait_event(self._work, timeout)
            self._work.clear()
            self._prune_candidates()
            while self.me is not None:  # an observer's transactions wait until it is a validator
                batch = self.builder.poll(self.now_ms())
                if batch is None:
                    break
                candidates = list(self._source.taken)
                try:
                    digest = self.batches.add(batch, pusher=self.own_address)
                except BatchError as exc:
                    log.warning("ledger %s: own batch refused (%s); transactions go back to the mempool", self.service.name, exc)
                    self.service.mempool.requeue(candidates)
                    await asyncio.sleep(0.05)
                    break
                self._candidates[digest] = candidates
                self._broadcast(BATCH, batch.encoded)
                self._attest(digest, pack_verdicts([c.signatures_valid for c in candidates]))
                self._perform(self.replica.batches_arrived(self.now_ms()))

    # ---- ledger catch-up (docs/consensus.md, "Catching up from far behind") ---------------------

    async def _catchup_loop(self) -> None:
        """When execution has stalled, ask the next connected peer for the ledger blocks above our head."""
        while True:
            await asyncio.sleep(CATCHUP_STALL_S / 2)
            if self.clock() - self._last_progress < CATCHUP_STALL_S and not self._ledger_ahead:
                continue
            peers = sorted(self.network.connected_peers())
            if peers:
                self._catchup_turn += 1
                peer = peers[self._catchup_turn % len(peers)]
                self.network.send(peer, encode([CATCHUP_REQUEST, encode([self.chain.height + 1])]))

    async def _on_catchup_request(self, node_id: str, body: bytes) -> None:
        value = decode(body)
        if not (isinstance(value, list) and len(value) == 1 and type(value[0]) is int):
            raise MalformedMessage("catch-up request must be [first height]")
        answer_body = await self._in_thread(serve, self.chain, self.service.kv, value[0])
        if answer_body is not None:
            self.network.send(node_id, encode([CATCHUP_RESPONSE, answer_body]))

    async def _on_catchup_response(self, node_id: str, body: bytes) -> None:
        try:
            blocks, anchor = parse(body)
        except CatchUpError as exc:
            raise MalformedMessage(str(exc)) from None
        async with self._ledger_lock:
            if not blocks or blocks[0].height != self.chain.height + 1:
                return
            try:
                await self._apply_blocks(blocks, anchor)
            except (SyncError, CatchUpError) as exc:
                self.replica.refused["catch_up"] += 1
                log.warning("ledger %s: catch-up from %s refused: %s", self.service.name, node_id, exc)
                return
        log.warning("ledger %s: caught up ledger blocks %s from %s%s", self.service.name, heights(blocks), node_id,
                    "" if anchor is not None else " (no consensus anchor yet)")

    async def _apply_blocks(self, blocks: list[Any], anchor: CertifiedBlock | None) -> None:
        """Check and replay each block, commit it (the last with the anchor), then resume consensus from the anchor."""
        sync = BlockSync(self.chain, self.service.verifier.verify)
        for block in blocks:
            proposal: Proposal = await self._in_thread(sync.replayed, block)
            anchored = anchor is not None and block is blocks[-1]
            if anchored:
                assert anchor is not None
                check_anchor(self.chain, block.header, anchor, self._signatures)
                proposal.records.update(anchor_records(anchor, block.height, TIP_KEY))
            await self._uncancellable(self.service.commit_block(proposal, block.certificate))
            self._last_progress = self.clock()
            self._ledger_ahead = not anchored
            self.caught_up_blocks += 1
        if anchor is not None:
            self._restart_consensus(reopen_queued=False)

    # ---- timers ---------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while True:
            delay = self._wake_at - self.clock()
            if delay > 0:
                self._timer_changed.clear()
                await wait_event(self._timer_changed, delay)
                continue
            self._wake_at = self.clock() + 3600
            self._perform(self.replica.tick(self.now_ms()))

    # ---- execution ------------------------------------------------------------------------------

    def _is_next(self, block: Block) -> bool:
        """Whether block is the one to execute now: this epoch's, right above the executed tip, ledger not ahead."""
        return (block.epoch == self.epoch and block.height == self.executed_tip.height + 1
                and not self._ledger_ahead)

    def _pace(self) -> None:
        """Set the replica's proposal spacing from this node's execution backlog (see paced_interval)."""
        self.replica.block_interval_ms = paced_interval(self.replica_config.min_block_interval_ms, len(self._commits))

    async def _next_commit(self) -> CertifiedBlock:
        """The next committed consensus block, in order."""
        while not self._commits:
            self._commit_arrived.clear()
            await self._commit_arrived.wait()
        return self._commits.popleft()

    async def _execute_loop(self) -> None:
        while True:
            certified = await self._next_commit()
            self._pace()
            block = certified.block
            if not self._is_next(block):  # executed, void (ended epoch), or overtaken by ledger catch-up
                self._done_with(block)
                continue
            if not block.payload and not self.chain.change_due():
                async with self._ledger_lock:
                    if self._is_next(block):
                        await self._in_thread(self._persist_tip, certified)
                        self.executed_tip = block
                        self.storage.forget_through(block.epoch, block.height)
                continue
            self.stage = f"gathering batches of consensus block {block.height}"
            t0 = time.perf_counter()
            candidates = await self._gather(block)
            async with self._ledger_lock:
                if candidates is None or not self._is_next(block):
                    self._done_with(block)
                    continue
                job: _Job | None = _Job(certified, candidates, t0)
                while job is not None:  # the next block executes while this one is certified and committed
                    job = await self._execute_block(job)
            if self.chain.validators_since() != self.epoch:
                self._end_epoch()

    async def _execute_block(self, job: _Job) -> _Job | None:
        """Execute a committed block, certify its ledger block with a quorum, commit it with the consensus tip.

        Meanwhile the next committed block, if it is ready, executes on top of
        this one's uncommitted result (see _follow); it is returned to be
        certified and committed next.
        """
        certified, candidates, t0 = job.certified, job.candidates, job.t0
        block = certified.block
        self.stage = f"executing consensus block {block.height}"
        t1 = time.perf_counter()
        if job.built is None:
            author = self.addresses[block.author]
            proposal: Proposal = await self._in_thread(self.chain.build_ordered, candidates, block.timestamp_ms, author)
        else:
            proposal = await job.built
        self.stage = f"certifying ledger block {proposal.header.height}"
        t2 = time.perf_counter()
        following = self._follow(block, proposal)
        try:
            certificate = await self._certify(proposal)
            self.stage = f"committing ledger block {proposal.header.height}"
            t3 = time.perf_counter()
            following = following or self._follow(block, proposal)  # another block may have been ordered meanwhile
            proposal.records.update(anchor_records(certified, proposal.header.height, TIP_KEY))
            await self._uncancellable(self.service.commit_block(proposal, certificate))
        except BaseException:
            if following is not None and following.built is not None:
                following.built.cancel()  # its thread finishes on its own; the node stops ordering or is stopping
            raise
        self._last_progress = self.clock()
        t4 = time.perf_counter()
        gathered = t1 - t0 if job.built is None else 0.0
        for name, spent in (("gather", gathered), ("execute", t2 - t1), ("certify", t3 - t2), ("commit", t4 - t3)):
            self.timings[name] = self.timings.get(name, 0.0) + spent
        if job.built is not None:
            self.timings["pipelined_blocks"] = self.timings.get("pipelined_blocks", 0) + 1
        self.timings["transactions"] = self.timings.get("transactions", 0) + len(candidates)
        self.timings["blocks"] = self.timings.get("blocks", 0) + 1
        self.executed_tip = block
        self.storage.forget_through(block.epoch, block.height)
        for digest in block.payload:
            self._candidates.pop(digest, None)
            self.checks.forget(digest)
            self._executed[digest] = None
        self._done_with(block)
        while len(self._executed) > EXECUTED_MEMORY:
            self._executed.popitem(last=False)
        self._progress.set()
        self.stage = "idle"
        return following

    def _follow(self, block: Block, proposal: Proposal) -> _Job | None:
        """Start executing the next committed block on top of `proposal` (executed, not committed yet), if it
        is ready: queued already, carrying transactions, with all its batches verified here, and `proposal`
        keeps the validator set (else the next block may belong to another epoch)."""
        if not self._commits or proposal.changes_validators():
            return None
        certified = self._commits[0]
        following = certified.block
        if following.epoch != block.epoch or following.height != block.height + 1 or not following.payload:
            return None
        candidates = self._ready(following, skip=set(block.payload))
        if candidates is None:
            return None
        self._commits.popleft()
        self._pace()
        author = self.addresses[following.author]
        built = asyncio.ensure_future(
            self._in_thread(self.chain.build_ordered, candidates, following.timestamp_ms, author, proposal))
        built.add_done_callback(self._vote_when_built)
        return _Job(certified, candidates, time.perf_counter(), built)

    def _ready(self, block: Block, skip: set[bytes]) -> list[Candidate] | None:
        """The block's transactions if every batch it needs is here and verified, else None (no waiting).
        `skip`: batches of the block before it, not executed yet (an earlier block's batch adds nothing)."""
        fresh = [d for d in block.payload if d not in self._executed and d not in skip]
        for digest in fresh:
            if digest not in self._candidates and not (digest in self.checks.pending and self._settle(digest)):
                return None
        return [c for d in fresh for c in self._candidates[d]]

    def _done_with(self, block: Block) -> None:
        """An ordered block has been executed (or was already): its batches are no longer awaited by execution."""
        self._ordered.subtract(block.payload)
        self._ordered += Counter()  # drop zero counts

    def _persist_tip(self, certified: CertifiedBlock) -> None:
        self.service.kv.apply({TIP_KEY: to_cbor(certified)}, sync=False)

    async def _gather(self, block: Block) -> list[Candidate] | None:
        """The block's transactions in order, fetching batches this node lacks (None: catch-up overtook it).

        A batch that an earlier block already carried adds nothing (its
        transactions would all be duplicates): every validator skips it alike.
        """
        while self._is_next(block):
            fresh = [d for d in block.payload if d not in self._executed]
            unsettled = [d for d in fresh if d not in self._candidates and d in self.checks.pending
                         and not self._settle(d)]
            if unsettled:
                await self._verify_pending(unsettled)
                continue
            missing = [d for d in fresh if d not in self._candidates]
            self._awaited = set(missing)
            if not missing:
                return [c for d in fresh for c in self._candidates[d]]
            request = BatchRequest(tuple(missing)).encode()
            for other in range(len(self.keys)):
                if other != self.me:
                    self._send(other, BATCH_REQUEST, request)
            self._batch_arrived.clear()
            await wait_event(self._batch_arrived, 0.5)
        return None

    async def _certify(self, proposal: Proposal) -> CommitCertificate:
        """Sign our result, collect a quorum for it (or fetch a stored certificate); stop on divergence."""
        height = proposal.header.height
        block_hash = proposal.block_hash(self.suite)
        self._vote(proposal)
        asked = self.clock()
        while True:
            cert = self._certificates.pop(height, None)
            if cert is not None and cert.problems(self.chain.validators(), block_hash, height) is None:
                break
            by_hash = self._exec_votes.get(height, {})
            mine = by_hash.get(block_hash, {})
            if len(mine) >= self.committee.quorum:
                signed = tuple(Vote(k, s) for k, s in sorted(mine.items())[: self.committee.quorum])
                cert = CommitCertificate(height, block_hash, signed)
                break
            for other_hash, others in by_hash.items():
                if other_hash != block_hash and len(others) >= self.committee.quorum:
                    self.diverged = f"block {height}: a quorum certified {other_hash.hex()}, we computed {block_hash.hex()}"
                    log.critical("ledger %s: state divergence: %s", self.service.name, self.diverged)
                    raise Diverged(self.diverged)
            if self.clock() - asked > CERT_ASK_AFTER_S:
                asked = self.clock()
                self._broadcast(CERT_REQUEST, encode([height]))
            self._progress.clear()
            await wait_event(self._progress, CERT_ASK_AFTER_S)
        for h in [h for h in self._exec_votes if h <= height]:
            del self._exec_votes[h]
        return cert

    def _vote(self, proposal: Proposal) -> None:
        """Sign our result for a ledger block and send it to every validator, once per height (an observer
        only gathers the members' signatures)."""
        if self.me is None:
            return
        height = proposal.header.height
        by_hash = self._exec_votes.setdefault(height, {})
        if any(self.own_key in votes for votes in by_hash.values()):
            return
        block_hash = proposal.block_hash(self.suite)
        signature = self.service.node_key.sign(COMMIT_DOMAIN + block_hash).encode()
        by_hash.setdefault(block_hash, {})[self.own_key] = signature
        self._broadcast(EXEC_VOTE, encode([height, block_hash, self.own_key, signature]))

    def _vote_when_built(self, built: asyncio.Future[Proposal]) -> None:
        """A block executed ahead is done: vote for its result now, so its certificate may be complete by
        the time the block before it is committed."""
        if not built.cancelled() and built.exception() is None:
            self._vote(built.result())

    def _on_exec_vote(self, body: bytes) -> None:
        value = decode(body)
        if not (isinstance(value, list) and len(value) == 4 and type(value[0]) is int
                and all(isinstance(v, bytes) for v in value[1:])):
            raise MalformedMessage("execution vote must be [height, block hash, key, signature]")
        height = cast(int, value[0])
        block_hash, key, signature = (cast(bytes, v) for v in value[1:])
        if not self.chain.height < height <= self.chain.height + EXEC_VOTE_WINDOW or key not in self.keys:
            return
        if not self.committee.verify(key, COMMIT_DOMAIN + block_hash, signature):
            raise MalformedMessage("execution vote with an invalid signature")
        by_hash = self._exec_votes.setdefault(height, {})
        if any(key in votes for votes in by_hash.values()):
            return  # one result per validator per height
        by_hash.setdefault(block_hash, {})[key] = signature
        self._progress.set()

    def _on_cert_request(self, node_id: str, body: bytes) -> None:
        value = decode(body)
        if not (isinstance(value, list) and len(value) == 1 and type(value[0]) is int):
            raise MalformedMessage("certificate request must be [height]")
        height = value[0]
        if max(1, self.chain.snapshot_height or 0) <= height <= self.chain.height:  # a restored node lacks older ones
            self.network.send(node_id, encode([CERT_RESPONSE, self.chain.certificate(height).encode()]))

    def _on_cert_response(self, body: bytes) -> None:
        cert = from_cbor(CommitCertificate, body)
        if cert.height == self.chain.height + 1:
            self._certificates[cert.height] = cert
            self._progress.set()

