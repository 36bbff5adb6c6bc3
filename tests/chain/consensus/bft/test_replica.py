"""Replica behaviour that the simulator does not pin down on its own: proposal pacing and refusals."""
from __future__ import annotations

from chain.consensus.bft.actions import Broadcast, Wake
from chain.consensus.bft.committee import Committee
from chain.consensus.bft.genesis import epoch_genesis
from chain.consensus.bft.messages import Proposal, Vote, proposal_bytes
from chain.consensus.bft.replica import Replica, ReplicaConfig
from chain.consensus.bft.storage import MemoryConsensusStorage
from chain.consensus.simulator.node import BatchStore, sha256
from chain.crypto import Algorithm, PrivateKey

KEYS = [PrivateKey.generate(Algorithm.ECDSA_P256) for _ in range(4)]
COMMITTEE = Committee(0, tuple(k.public_key().encode() for k in KEYS))
GENESIS = epoch_genesis(0, 1, b"anchor", 1_000, sha256)


def _replica(me: int, config: ReplicaConfig) -> tuple[Replica, BatchStore]:
    batches = BatchStore()
    return Replica(COMMITTEE, me, KEYS[me], sha256, MemoryConsensusStorage(), batches, GENESIS, config), batches


def _proposals(actions: list[object]) -> list[Proposal]:
    return [a.message for a in actions if isinstance(a, Broadcast) and isinstance(a.message, Proposal)]


def test_a_leader_waits_min_block_interval_after_its_parent_then_proposes() -> None:
    leader = COMMITTEE.leader(1)
    replica, batches = _replica(leader, ReplicaConfig(min_block_interval_ms=200))
    batches.add(sha256(b"batch"))
    actions = replica.start(1_050)
    assert _proposals(actions) == []
    wake = [a.at_ms for a in actions if isinstance(a, Wake)][0]
    assert wake == 1_200
    proposals = _proposals(replica.tick(1_200))
    assert len(proposals) == 1 and proposals[0].block.payload == (sha256(b"batch"),)
    assert proposals[0].block.timestamp_ms == 1_200


def test_a_lengthened_block_interval_holds_the_proposal_back_until_it_passes() -> None:
    leader = COMMITTEE.leader(1)
    replica, batches = _replica(leader, ReplicaConfig(min_block_interval_ms=200))
    replica.block_interval_ms = 600  # what the node sets while its execution lags (BftEngine._pace)
    batches.add(sha256(b"batch"))
    actions = replica.start(1_250)
    assert _proposals(actions) == []
    assert [a.at_ms for a in actions if isinstance(a, Wake)][0] == 1_600
    assert _proposals(replica.tick(1_599)) == []
    proposals = _proposals(replica.tick(1_600))
    assert len(proposals) == 1 and proposals[0].block.timestamp_ms == 1_600


def test_an_idle_leader_sends_a_heartbeat_after_idle_proposal_ms() -> None:
    leader = COMMITTEE.leader(1)
    replica, _ = _replica(leader, ReplicaConfig(idle_proposal_ms=300))
    assert _proposals(replica.start(2_000)) == []
    assert _proposals(replica.tick(2_100)) == []
    heartbeat = _proposals(replica.tick(2_300))
    assert len(heartbeat) == 1 and heartbeat[0].block.payload == ()


def test_a_proposal_from_a_non_leader_or_badly_signed_gets_no_vote() -> None:
    leader = COMMITTEE.leader(1)
    voter = (leader + 1) % 4
    proposer, batches = _replica(leader, ReplicaConfig())
    batches.add(sha256(b"b"))
    proposal = _proposals(proposer.start(5_000))[0]
    replica, held = _replica(voter, ReplicaConfig())
    held.add(sha256(b"b"))
    replica.start(5_000)
    impostor = (leader + 2) % 4
    forged_block = proposal.block.__class__(**{**proposal.block.__dict__, "author": impostor})
    forged = Proposal(forged_block, None, KEYS[impostor].sign(proposal_bytes(forged_block.id(sha256))).encode())
    assert not any(isinstance(a, Broadcast) and isinstance(a.message, Vote) for a in replica.receive(impostor, forged, 5_001))
    tampered = Proposal(proposal.block, None, KEYS[voter].sign(b"x").encode())
    assert not any(isinstance(a, Broadcast) and isinstance(a.message, Vote) for a in replica.receive(leader, tampered, 5_001))
    assert replica.refused["invalid_message"] == 2
    votes = [a for a in replica.receive(leader, proposal, 5_002) if isinstance(a, Broadcast) and isinstance(a.message, Vote)]
    assert len(votes) == 1 and replica.safety.highest_vote_round == 1
    again = replica.receive(leader, proposal, 5_003)
    assert not any(isinstance(a, Broadcast) and isinstance(a.message, Vote) for a in again)  # once per round


def test_a_proposal_whose_batches_are_missing_waits_and_asks_for_them() -> None:
    from chain.consensus.bft.actions import FetchBatches

    leader = COMMITTEE.leader(1)
    proposer, batches = _replica(leader, ReplicaConfig())
    batches.add(sha256(b"only-leader-has-it"))
    proposal = _proposals(proposer.start(7_000))[0]
    replica, held = _replica((leader + 1) % 4, ReplicaConfig())
    replica.start(7_000)
    actions = replica.receive(leader, proposal, 7_001)
    assert [a for a in actions if isinstance(a, FetchBatches)][0].digests == (sha256(b"only-leader-has-it"),)
    assert not any(isinstance(a, Broadcast) and isinstance(a.message, Vote) for a in actions)
    held.add(sha256(b"only-leader-has-it"))
    assert any(isinstance(a, Broadcast) and isinstance(a.message, Vote) for a in replica.batches_arrived(7_002))


def _pump(replicas: list[Replica], actions: dict[int, list[object]], now: int) -> list[object]:
    """Deliver every message among the replicas until none is left; return the Commit actions of replica 0."""
    from chain.consensus.bft.actions import Commit, Send

    commits: list[object] = []
    queue = [(i, a) for i, acts in actions.items() for a in acts]
    while queue:
        sender, action = queue.pop(0)
        if sender == 0 and isinstance(action, Commit):
            commits.append(action)
        targets = [action.to] if isinstance(action, Send) else range(len(replicas)) if isinstance(action, Broadcast) else []
        for target in targets:
            if target != sender:
                queue += [(target, a) for a in replicas[target].receive(sender, action.message, now)]  # type: ignore[union-attr]
    return commits


def test_an_observer_catches_up_from_everything_committed_in_the_epoch() -> None:
    from chain.consensus.bft.actions import Commit
    from chain.consensus.bft.messages import SyncRequest

    pairs = [_replica(i, ReplicaConfig()) for i in range(4)]
    replicas = [r for r, _ in pairs]
    now = 10_000
    for step in range(6):
        for _, store in pairs:
            store.add(sha256(b"batch %d" % step))
        now += 1_000
        _pump(replicas, {i: r.tick(now) if step else r.start(now) for i, r in enumerate(replicas)}, now)
    committed = replicas[0].tree.committed.height
    assert committed >= 3
    response = replicas[0].sync_response(SyncRequest(0, GENESIS.block.height, b""))
    assert response is not None and response.blocks[0].block.height == 2
    observer = Replica(COMMITTEE, -1, None, sha256, MemoryConsensusStorage(), BatchStore(), GENESIS, ReplicaConfig())
    observer.start(now)
    actions = observer.receive(0, response, now)
    heights = [c.block.height for a in actions if isinstance(a, Commit) for c in a.blocks]
    assert heights == list(range(2, committed + 1))  # everything the peer committed, provably
    assert not any(isinstance(a, Broadcast) for a in actions)  # an observer never votes
    assert replicas[0].sync_response(SyncRequest(1, 0, b"")) is None  # another epoch's request

