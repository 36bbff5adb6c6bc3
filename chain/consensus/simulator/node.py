"""A simulated validator: a real Replica, a batch store, durable storage and the commit log it executes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from chain.consensus.bft.actions import Action, Broadcast, Commit, FetchBatches, Send, Wake
from chain.consensus.bft.committee import Committee
from chain.consensus.bft.errors import MalformedMessage
from chain.consensus.bft.messages import Block, CertifiedBlock, Message, decode_message, encode_message
from chain.consensus.bft.replica import Replica, ReplicaConfig
from chain.consensus.bft.storage import MemoryConsensusStorage
from chain.crypto import PrivateKey

if TYPE_CHECKING:
    from chain.consensus.simulator.cluster import Cluster

INVALID_BATCH_PREFIX = b"bad:"  # batches an honest store refuses (they stand for undecodable transactions)


def sha256(data: bytes) -> bytes:
    """The simulated ledger's hash."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class BatchRequest:
    """Ask a peer for batches by digest (simulated dissemination layer)."""

    digests: tuple[bytes, ...]


@dataclass(frozen=True)
class BatchPush:
    """Batches sent to a peer (dissemination or the answer to a request)."""

    digests: tuple[bytes, ...]


class BatchStore:
    """Batches a node holds (in the simulator a batch is its digest) and those already executed."""

    def __init__(self) -> None:
        self.held: dict[bytes, None] = {}
        self.committed: set[bytes] = set()

    def add(self, digest: bytes) -> bool:
        """Keep a batch unless it is invalid or known; True if it is new."""
        if digest.startswith(INVALID_BATCH_PREFIX) or digest in self.held or digest in self.committed:
            return False
        self.held[digest] = None
        return True

    def ready(self, exclude: set[bytes], limit: int) -> tuple[bytes, ...]:
        """Held, uncommitted batches not in exclude, oldest first."""
        out = []
        for digest in self.held:
            if digest not in exclude:
                out.append(digest)
                if len(out) == limit:
                    break
        return tuple(out)

    def missing(self, digests: Sequence[bytes]) -> tuple[bytes, ...]:
        """Those not held (committed ones count as held)."""
        return tuple(d for d in digests if d not in self.held and d not in self.committed)

    def release(self, digests: Sequence[bytes]) -> None:
        """Ordered for good: no longer proposable."""
        for digest in digests:
            self.held.pop(digest, None)
            self.committed.add(digest)


class SimNode:
    """One committee seat in the simulation (twins share a seat)."""

    def __init__(self, cluster: Cluster, index: int, key: PrivateKey, committee: Committee,
                 genesis: CertifiedBlock, config: ReplicaConfig) -> None:
        self.cluster, self.index, self.key = cluster, index, key
        self.committee, self.genesis, self.config = committee, genesis, config
        self.storage = MemoryConsensusStorage()
        self.batches = BatchStore()
        self.log: list[tuple[int, bytes, bytes]] = []  # (height, block id, state root): the executed ledger
        self.alive = False
        self.replica: Replica | None = None
        self._wake_at: int | None = None
        self._incarnation = 0

    # ---- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Boot (or reboot) from durable storage: safety record, committed tip, executed log, executed batches."""
        self.alive = True
        self._incarnation += 1
        self._wake_at = None  # the previous incarnation's timer died with it
        self.batches.held.clear()  # uncommitted batches are lost in a crash: they come back by fetching,
        for block in self.storage.load_blocks():  # except those kept with a vote (as a node keeps them)
            for digest in block.payload:
                self.batches.add(digest)
        self.replica = Replica(self.committee, self.index, self.key, sha256, self.storage, self.batches,
                               self.genesis, self.config)
        self._perform(self.replica.start(self.cluster.net.now))

    def crash(self) -> None:
        """Stop: in-memory state is gone, durable storage stays."""
        self.alive = False
        self.replica = None

    # ---- inputs ---------------------------------------------------------------------------------

    def deliver(self, sender: int, payload: object) -> None:
        """A message arrives from the network."""
        if not self.alive or self.replica is None:
            return
        now = self.cluster.net.now
        if isinstance(payload, BatchRequest):
            have = tuple(d for d in payload.digests if d in self.batches.held or d in self.batches.committed)
            if have and self.serves_batches():
                self.cluster.send(self.index, sender, BatchPush(have))
            return
        if isinstance(payload, BatchPush):
            if any([self.batches.add(d) for d in payload.digests]):
                self._perform(self.replica.batches_arrived(now))
            return
        assert isinstance(payload, bytes)
        try:
            message = decode_message(payload)
        except MalformedMessage:
            self.replica.refused["malformed"] += 1
            return
        self._perform(self.replica.receive(sender, message, now))

    def client_batch(self, digest: bytes) -> None:
        """A client hands this node a batch: keep it and spread it to every other seat."""
        if not self.alive or self.replica is None:
            return
        if self.batches.add(digest):
            self.cluster.broadcast(self.index, BatchPush((digest,)))
            self._perform(self.replica.batches_arrived(self.cluster.net.now))

    def _tick(self, incarnation: int) -> None:
        if not self.alive or self.replica is None or incarnation != self._incarnation:
            return
        self._wake_at = None
        self._perform(self.replica.tick(self.cluster.net.now))

    # ---- outputs --------------------------------------------------------------------------------

    def serves_batches(self) -> bool:
        """Honest nodes answer batch requests."""
        return True

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        """Bytes to send for a replica message: (None = everyone, else one seat). Byzantine nodes override."""
        return [(None, encode_message(message))]

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                for to, data in self.outgoing(action.message):
                    if to is None:
                        self.cluster.broadcast(self.index, data)
                    else:
                        self.cluster.send(self.index, to, data)
            elif isinstance(action, Send):
                for to, data in self.outgoing(action.message):
                    self.cluster.send(self.index, action.to if to is None else to, data)
            elif isinstance(action, Commit):
                self._execute([c.block for c in action.blocks])
            elif isinstance(action, FetchBatches):
                self.cluster.send(self.index, action.peer, BatchRequest(action.digests))
                for other in self.cluster.others(self.index):  # and anyone else, in case the peer is gone
                    self.cluster.send(self.index, other, BatchRequest(action.digests))
            elif isinstance(action, Wake):
                self._schedule(action.at_ms)

    def _schedule(self, at: int) -> None:
        if self._wake_at is not None and self._wake_at <= at:
            return
        self._wake_at = at
        incarnation = self._incarnation
        self.cluster.net.at(at, lambda: self._tick(incarnation))

    def _execute(self, blocks: Sequence[Block]) -> None:
        """Apply committed blocks to the simulated ledger: a hash chain over block ids and payloads."""
        for block in blocks:
            expected = self.log[-1][0] + 1 if self.log else self.genesis.block.height + 1
            if block.height != expected:
                self.cluster.violation(f"seat {self.index} committed height {block.height}, expected {expected}")
            previous = self.log[-1][2] if self.log else b""
            block_id = block.id(sha256)
            root = sha256(previous + block_id + b"".join(block.payload))
            self.log.append((block.height, block_id, root))
            self.cluster.committed(self, block, block_id, root)
