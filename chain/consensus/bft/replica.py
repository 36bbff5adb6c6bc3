"""One validator's consensus state machine: a pure function of messages, batch arrivals and clock ticks.

Protocol (docs/consensus.md): chained two-phase HotStuff (Jolteon / DiemBFT v4,
HotStuff-2 family) with votes sent to everyone, so every replica forms each QC
itself and the next leader proposes as soon as it has one. A block commits
when it has a certified child from the very next round (two-chain rule).
Rounds that fail end with a timeout certificate; timeouts back off
exponentially while no QC forms.
"""
from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Protocol, Sequence

from chain.consensus.bft.actions import Action, Broadcast, Commit, FetchBatches, Send, Wake
from chain.consensus.bft.block_tree import BlockTree
from chain.consensus.bft.committee import Committee
from chain.consensus.bft.errors import ConsensusError, InvalidCertificate, InvalidMessage
from chain.consensus.bft.messages import (
    Block,
    CertifiedBlock,
    Digest,
    Message,
    Proposal,
    QuorumCert,
    Signed,
    SyncRequest,
    SyncResponse,
    Timeout,
    TimeoutCert,
    Vote,
    proposal_bytes,
    timeout_bytes,
    vote_bytes,
)
from chain.consensus.bft.safety import SafetyState, after_timeout, after_vote, may_time_out, may_vote
from chain.consensus.bft.storage import ConsensusStorageAPI, RoundRecord
from chain.crypto import PrivateKey

log = logging.getLogger(__name__)

MAX_DIGEST_BYTES = 64


class PayloadAPI(Protocol):
    """The batches this replica holds (filled by dissemination, emptied by execution)."""

    def ready(self, exclude: set[bytes], limit: int) -> tuple[bytes, ...]:
        """Digests of held, not yet committed batches to propose, none of them in exclude."""
        ...

    def missing(self, digests: Sequence[bytes]) -> tuple[bytes, ...]:
        """Those of digests this replica does not hold (committed ones count as held)."""
        ...

    def release(self, digests: Sequence[bytes]) -> None:
        """These batches are ordered for good: never offer them again."""
        ...


@dataclass(frozen=True)
class ReplicaConfig:
    """Timing and size limits; the defaults suit validators on one LAN (documented in docs/consensus.md)."""

    round_timeout_ms: int = 1_000
    max_round_timeout_ms: int = 8_000
    idle_proposal_ms: int = 250
    min_block_interval_ms: int = 0
    max_payload: int = 64
    max_clock_drift_ms: int = 2_000
    sync_limit: int = 256
    sync_retry_ms: int = 200
    archive: int = 10_000
    future_rounds: int = 64
    blocks_per_round: int = 4
    parked: int = 64


class Replica:
    """A validator (or, without a key, an observer) of one epoch."""

    def __init__(self, committee: Committee, me: int, key: PrivateKey | None, digest: Digest,
                 storage: ConsensusStorageAPI, payload: PayloadAPI, genesis: CertifiedBlock,
                 config: ReplicaConfig = ReplicaConfig()) -> None:
        self.committee, self.me, self._key, self._digest = committee, me, key, digest
        self._storage, self._payload, self.config = storage, payload, config
        self._genesis_qc = genesis.qc
        self.tree = BlockTree(digest, storage.load_committed() or genesis, config.archive)
        record = storage.load_round()
        self.safety = record.safety if record else SafetyState(committee.epoch, 0, 0)
        self.last_tc: TimeoutCert | None = record.last_tc if record else None
        self._restored: list[Block] = []  # kept blocks put back, in height order
        for block in sorted((b for b in storage.load_blocks()
                             if b.epoch == committee.epoch and b.height > self.tree.committed.height),
                            key=lambda b: (b.height, b.round)):
            if self.tree.get(block.parent) is not None:  # only those whose chain down to the tip is whole
                self.tree.add(block)
                self._restored.append(block)
        self._restored_qc = record.high_qc if record else None
        self.round = 0
        self._deadline = 0
        self._entered_at = 0
        self._backoff = 0
        self._proposed_round = 0
        self._propose_not_before = 0
        # Least time between a parent's timestamp and a child this replica proposes: the configured minimum, which
        # the node lengthens while its execution lags behind ordering (a local choice: safety does not depend on it).
        self.block_interval_ms = config.min_block_interval_ms
        self._my_timeout: Timeout | None = None
        self._votes: dict[tuple[int, bytes, int], dict[int, bytes]] = {}
        self._voters: dict[int, set[int]] = {}
        self._timeouts: dict[int, dict[int, Timeout]] = {}
        self._block_counts: Counter[int] = Counter()
        self._parked: OrderedDict[bytes, tuple[Proposal, int]] = OrderedDict()
        self._sync_asked: dict[bytes, tuple[int, int]] = {}
        self._out: list[Action] = []
        self.refused: Counter[str] = Counter()

    # ---- inputs ---------------------------------------------------------------------------------

    def start(self, now: int) -> list[Action]:
        """Enter the round after the highest certificate known (from storage after a restart)."""
        self._restore_certificates()
        tc_round = self.last_tc.round if self.last_tc else 0
        self._enter(max(self.tree.high_qc.round, tc_round) + 1, now)
        high = self.tree.high_qc
        if high.height > self.tree.committed.height and self.tree.get(high.block_id) is None:
            self._request_sync(self.committee.leader(self.round), high.block_id, now)
        return self._flush(now)

    def _restore_certificates(self) -> None:
        """Re-learn the QCs of the blocks voted for before a restart (their children's justify, the high QC).

        Blocks they commit are handed to execution again: the stored tip is the
        last block executed, which may lag the last one committed.
        """
        qcs = [b.justify for b in self._restored]
        if self._restored_qc is not None:
            qcs.append(self._restored_qc)
        for qc in qcs:
            self._commit(self.tree.certify(qc))
        self._restored, self._restored_qc = [], None

    def receive(self, sender: int, message: Message, now: int) -> list[Action]:
        """Handle a message from committee member `sender` (already authenticated by the transport)."""
        try:
            self._dispatch(sender, message, now)
        except ConsensusError as exc:
            self.refused[exc.code] += 1
            log.debug("replica %d refused %s from %d: %s", self.me, type(message).__name__, sender, exc)
        return self._flush(now)

    def tick(self, now: int) -> list[Action]:
        """Time has passed: time out the round or make a due proposal."""
        if now >= self._deadline:
            self._local_timeout(now)
        self._try_propose(now)
        return self._flush(now)

    def batches_arrived(self, now: int) -> list[Action]:
        """Batches were added to the payload store: proposals waiting for them may now get votes."""
        self._retry_parked(now)
        self._try_propose(now)
        return self._flush(now)

    # ---- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, sender: int, message: Message, now: int) -> None:
        if isinstance(message, Proposal):
            self._on_proposal(sender, message, now)
        elif isinstance(message, Vote):
            self._on_vote(sender, message, now)
        elif isinstance(message, Timeout):
            self._on_timeout(message, sender, now)
        elif isinstance(message, SyncRequest):
            self._on_sync_request(sender, message)
        elif isinstance(message, SyncResponse):
            self._on_sync_response(message, sender, now)

    def _flush(self, now: int) -> list[Action]:
        out, self._out = self._out, []
        out.append(Wake(self._next_wake(now)))
        return out

    def _next_wake(self, now: int) -> int:
        wake = self._deadline
        if self._is_leader() and self._proposed_round < self.round:
            waiting = self._propose_not_before > now
            due = self._propose_not_before if waiting else self._entered_at + self.config.idle_proposal_ms
            wake = min(wake, max(now + 1, due))
        return wake

    # ---- certificates ---------------------------------------------------------------------------

    def _check_qc(self, qc: QuorumCert) -> None:
        if qc == self._genesis_qc:
            return
        known = self.tree.qc_for(qc.block_id)
        if known is not None and known.round == qc.round and known.height == qc.height:
            return
        if not qc.votes:
            raise InvalidCertificate("a QC without votes that is not this epoch's genesis")
        self.committee.check_qc(qc)

    def _process_qc(self, qc: QuorumCert, sender: int, now: int) -> None:
        """A valid QC: maybe commit, maybe fetch the block, advance the round."""
        committed = self.tree.certify(qc)
        self._commit(committed)
        if qc.height > self.tree.committed.height and self.tree.get(qc.block_id) is None:
            self._request_sync(sender, qc.block_id, now)
        if qc.round + 1 > self.round:
            self._backoff = 0
            self._enter(qc.round + 1, now)
        elif self._is_leader():
            self._try_propose(now)

    def _process_tc(self, tc: TimeoutCert, now: int, checked: bool = False) -> None:
        if self.last_tc is not None and tc.round <= self.last_tc.round:
            return
        if not checked:
            self.committee.check_tc(tc)
        self.last_tc = tc
        self._enter(tc.round + 1, now)

    def _commit(self, blocks: list[Block]) -> None:
        if not blocks:
            return
        self._out.append(Commit(tuple(self.tree.certified_committed(blocks))))
        for block in blocks:  # at once, so a proposal made later in this same step cannot repeat them
            self._payload.release(block.payload)
        self._storage.save_committed(self.tree.committed_tip())
        for block in blocks:
            self._block_counts.pop(block.round, None)

    # ---- rounds ---------------------------------------------------------------------------------

    def _is_leader(self) -> bool:
        return self._key is not None and self.committee.leader(self.round) == self.me

    def _round_timeout(self) -> int:
        timeout = self.config.round_timeout_ms * 3 ** self._backoff // 2 ** self._backoff
        return min(timeout, self.config.max_round_timeout_ms)

    def _enter(self, round: int, now: int) -> None:
        if round <= self.round:
            return
        self.round = round
        self._entered_at = now
        self._deadline = now + self._round_timeout()
        self._my_timeout = None
        for stale in [k for k in self._votes if k[0] < round - 1]:
            del self._votes[stale]
        for table in (self._voters, self._timeouts):
            for r in [r for r in table if r < round - 1]:
                del table[r]
        self._retry_parked(now)
        self._try_propose(now)

    def _local_timeout(self, now: int) -> None:
        """The round's timer expired: send (or resend) our timeout and back off."""
        self._backoff = min(self._backoff + 1, 16)
        self._deadline = now + self._round_timeout()
        if self._key is None:
            return
        if self._my_timeout is None:
            high_qc = self.tree.high_qc
            if not may_time_out(self.safety, self.round, high_qc.round, self.last_tc):
                return
            self._persist(after_timeout(self.safety, self.round))
            signature = self._key.sign(timeout_bytes(self.committee.epoch, self.round, high_qc.round)).encode()
            tc = self.last_tc if self.last_tc and self.last_tc.round + 1 == self.round else None
            timeout = self._my_timeout = Timeout(self.committee.epoch, self.round, high_qc, tc, self.me, signature)
            self._out.append(Broadcast(timeout))
            self._collect_timeout(timeout, now)  # may complete a TC and move on to the next round
        else:
            self._out.append(Broadcast(self._my_timeout))

    def _persist(self, safety: SafetyState, voted: Block | None = None) -> None:
        self.safety = safety
        self._storage.save_round(RoundRecord(safety, self.tree.high_qc, self.last_tc), voted)

    # ---- proposing ------------------------------------------------------------------------------

    def _try_propose(self, now: int) -> None:
        if not self._is_leader() or self._proposed_round >= self.round:
            return
        assert self._key is not None
        qc = self.tree.high_qc
        tc = self.last_tc if self.last_tc and self.last_tc.round + 1 == self.round else None
        if qc.round + 1 != self.round and (tc is None or qc.round < tc.max_high_qc_round()):
            return  # the QC this round must extend has not reached us yet
        parent = self.tree.get(qc.block_id)
        if parent is None:
            return
        earliest = parent.timestamp_ms + self.block_interval_ms
        if now < earliest:
            self._propose_not_before = earliest  # let batches accumulate: fewer, fuller blocks
            return
        pending = self.tree.uncommitted_payload(qc.block_id)
        payload = self._payload.ready(pending, self.config.max_payload)
        if not payload and not pending and now < self._entered_at + self.config.idle_proposal_ms:
            return
        block = Block(self.committee.epoch, self.round, parent.height + 1, qc.block_id, qc, payload,
                      max(now, parent.timestamp_ms + 1), self.me)
        proposal = Proposal(block, tc, self._key.sign(proposal_bytes(block.id(self._digest))).encode())
        self._proposed_round = self.round
        self._out.append(Broadcast(proposal))
        self._on_proposal(self.me, proposal, now)

    # ---- proposals and votes --------------------------------------------------------------------

    def _check_block(self, block: Block) -> None:
        """Structural rules every block obeys; the justify QC is checked too."""
        if block.epoch != self.committee.epoch:
            raise InvalidMessage(f"block of epoch {block.epoch} in epoch {self.committee.epoch}")
        if not self.committee.valid_signer(block.author):
            raise InvalidMessage(f"block author {block.author} is not a member")
        justify = block.justify
        if justify.block_id != block.parent or block.height != justify.height + 1 or block.round <= justify.round:
            raise InvalidMessage("block does not extend the block its QC certifies")
        if len(block.payload) > self.config.max_payload or len(set(block.payload)) != len(block.payload):
            raise InvalidMessage("block payload is too long or repeats a batch")
        if any(len(d) > MAX_DIGEST_BYTES for d in block.payload):
            raise InvalidMessage("block payload holds an over-long digest")
        self._check_qc(justify)

    def _on_proposal(self, sender: int, proposal: Proposal, now: int) -> None:
        block = proposal.block
        if block.epoch != self.committee.epoch or block.round > self.round + self.config.future_rounds:
            return
        if block.author != self.committee.leader(block.round):
            raise InvalidMessage(f"member {block.author} is not the leader of round {block.round}")
        block_id = block.id(self._digest)
        if not self.committee.verify(self.committee.keys[block.author], proposal_bytes(block_id), proposal.signature):
            raise InvalidMessage(f"proposal for round {block.round} is not signed by its leader")
        self._check_block(block)
        tc = proposal.last_tc
        if tc is not None and tc.round + 1 != block.round:
            raise InvalidMessage("proposal carries a TC for another round")
        if tc is not None:
            self.committee.check_tc(tc)
        self._process_qc(block.justify, sender, now)
        if tc is not None:
            self._process_tc(tc, now, checked=True)
        if self.tree.get(block_id) is None:
            self._block_counts[block.round] += 1
            if self._block_counts[block.round] > self.config.blocks_per_round:
                raise InvalidMessage(f"too many blocks for round {block.round}")
        self._consider(proposal, block_id, sender, now)

    def _consider(self, proposal: Proposal, block_id: bytes, sender: int, now: int) -> None:
        """Add the block once its parent is known; vote if it is this round's and its batches are here."""
        block = proposal.block
        parent = self.tree.get(block.parent)
        if parent is None:
            self._park(block_id, proposal, sender)
            self._request_sync(sender, block.parent, now)
            return
        if block.timestamp_ms <= parent.timestamp_ms:
            raise InvalidMessage("block timestamp does not increase")
        self.tree.add(block)
        self._storage.save_block(block)
        known_qc = self.tree.qc_for(block_id)
        if known_qc is not None:  # certified before it arrived (e.g. seen in a timeout)
            self._commit(self.tree.certify(known_qc))
        if block.round != self.round or self._key is None or self.safety.highest_vote_round >= block.round:
            return
        if block.timestamp_ms > now + self.config.max_clock_drift_ms:
            return
        missing = self._payload.missing(block.payload)
        if missing:
            self._park(block_id, proposal, sender)
            self._out.append(FetchBatches(missing, block.author if block.author != self.me else sender))
            return
        if may_vote(self.safety, block, proposal.last_tc):
            self._vote(block, block_id, now)

    def _vote(self, block: Block, block_id: bytes, now: int) -> None:
        assert self._key is not None
        self._persist(after_vote(self.safety, block), block)
        epoch = self.committee.epoch
        signature = self._key.sign(vote_bytes(epoch, block.round, block.height, block_id)).encode()
        vote = Vote(epoch, block.round, block.height, block_id, self.me, signature)
        self._out.append(Broadcast(vote))
        self._collect_vote(vote, self.me, now)

    def _park(self, block_id: bytes, proposal: Proposal, sender: int) -> None:
        self._parked[block_id] = (proposal, sender)
        while len(self._parked) > self.config.parked:
            self._parked.popitem(last=False)

    def _retry_parked(self, now: int) -> None:
        for block_id, (proposal, sender) in list(self._parked.items()):
            if block_id not in self._parked:
                continue  # handled by a nested call
            if proposal.block.round < self.round and self.tree.get(block_id) is not None:
                del self._parked[block_id]
                continue
            if self.tree.get(proposal.block.parent) is None:
                continue
            del self._parked[block_id]
            try:
                self._consider(proposal, block_id, sender, now)
            except ConsensusError as exc:
                self.refused[exc.code] += 1

    def _on_vote(self, sender: int, vote: Vote, now: int) -> None:
        if vote.epoch != self.committee.epoch or not self.committee.valid_signer(vote.signer):
            raise InvalidMessage("vote from outside the committee")
        if not self.round - 1 <= vote.round <= self.round + self.config.future_rounds:
            return
        message = vote_bytes(vote.epoch, vote.round, vote.height, vote.block_id)
        if not self.committee.verify(self.committee.keys[vote.signer], message, vote.signature):
            raise InvalidMessage(f"vote with an invalid signature from member {vote.signer}")
        self._collect_vote(vote, sender, now)

    def _collect_vote(self, vote: Vote, sender: int, now: int) -> None:
        voters = self._voters.setdefault(vote.round, set())
        if vote.signer in voters:
            return  # one vote per member per round: a second, conflicting one is ignored
        voters.add(vote.signer)
        key = (vote.round, vote.block_id, vote.height)
        votes = self._votes.setdefault(key, {})
        votes[vote.signer] = vote.signature
        if len(votes) == self.committee.quorum:
            signed = tuple(Signed(s, sig) for s, sig in sorted(votes.items()))
            self._process_qc(QuorumCert(vote.epoch, vote.round, vote.height, vote.block_id, signed), sender, now)

    # ---- timeouts -------------------------------------------------------------------------------

    def _on_timeout(self, timeout: Timeout, sender: int, now: int) -> None:
        if timeout.epoch != self.committee.epoch or not self.committee.valid_signer(timeout.signer):
            raise InvalidMessage("timeout from outside the committee")
        if timeout.high_qc.round >= timeout.round:
            raise InvalidMessage("timeout carries a QC that is not below its round")
        message = timeout_bytes(timeout.epoch, timeout.round, timeout.high_qc.round)
        if not self.committee.verify(self.committee.keys[timeout.signer], message, timeout.signature):
            raise InvalidMessage(f"timeout with an invalid signature from member {timeout.signer}")
        self._check_qc(timeout.high_qc)
        self._process_qc(timeout.high_qc, sender, now)
        if timeout.last_tc is not None:
            self._process_tc(timeout.last_tc, now)
        if self.round <= timeout.round <= self.round + self.config.future_rounds:
            self._collect_timeout(timeout, now)

    def _collect_timeout(self, timeout: Timeout, now: int) -> None:
        received = self._timeouts.setdefault(timeout.round, {})
        if timeout.signer in received:
            return
        received[timeout.signer] = timeout
        if timeout.round == self.round and self._my_timeout is None and len(received) > self.committee.faults:
            self._local_timeout(now)  # f + 1 gave up: at least one honest did, so join rather than wait
        if len(received) == self.committee.quorum:
            signers = sorted(received)
            tc = TimeoutCert(timeout.epoch, timeout.round, tuple(received[s].high_qc.round for s in signers),
                             tuple(Signed(s, received[s].signature) for s in signers))
            self._process_tc(tc, now, checked=True)

    # ---- sync -----------------------------------------------------------------------------------

    def _request_sync(self, peer: int, target: bytes, now: int) -> None:
        """Ask `peer` for the certified chain up to target; a repeated ask goes to the next member in turn."""
        asked = self._sync_asked.get(target)
        if asked is not None:
            when, last = asked
            if now - when < self.config.sync_retry_ms:
                return
            peer = (last + 1) % self.committee.size
        if peer == self.me:
            peer = (peer + 1) % self.committee.size
        if peer == self.me:
            return
        if len(self._sync_asked) > 4 * self.config.parked:
            self._sync_asked.clear()
        self._sync_asked[target] = (now, peer)
        self._out.append(Send(peer, SyncRequest(self.committee.epoch, self.tree.committed.height, target)))

    def _on_sync_request(self, sender: int, request: SyncRequest) -> None:
        response = self.sync_response(request)
        if response is not None:
            self._out.append(Send(sender, response))

    def sync_response(self, request: SyncRequest) -> SyncResponse | None:
        """The certified blocks a peer asks for (an empty target: all certified above its height).

        An empty target runs to the highest certified block, not just the
        committed tip, so the asker also gets the certificates that prove the
        tip committed (two-chain) and can commit it itself.
        """
        if request.epoch != self.committee.epoch:
            return None
        target = request.target or self.tree.high_qc.block_id
        path = self.tree.certified_path(target, request.committed_height, self.config.sync_limit)
        return SyncResponse(self.committee.epoch, tuple(path)) if path else None

    def _on_sync_response(self, response: SyncResponse, sender: int, now: int) -> None:
        if response.epoch != self.committee.epoch or len(response.blocks) > self.config.sync_limit:
            raise InvalidMessage("sync response of another epoch or over the limit")
        for certified in response.blocks:
            block, qc = certified.block, certified.qc
            if block.height <= self.tree.committed.height:
                continue
            block_id = block.id(self._digest)
            if qc.block_id != block_id or qc.height != block.height or qc.round != block.round:
                raise InvalidMessage("sync response pairs a block with another block's QC")
            self._check_block(block)
            self._check_qc(qc)
            parent = self.tree.get(block.parent)
            if parent is None:
                break
            if block.timestamp_ms <= parent.timestamp_ms:
                raise InvalidMessage("synced block timestamp does not increase")
            self.tree.add(block)
            self._storage.save_block(block)
            self._commit(self.tree.certify(block.justify))
            self._process_qc(qc, sender, now)
        self._retry_parked(now)
        self._try_propose(now)
