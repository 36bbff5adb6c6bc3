"""Seeded scenarios: committee size, network faults, crashes and Byzantine seats, all drawn from one seed."""
from __future__ import annotations

import hashlib
from functools import partial
import random
from dataclasses import dataclass, field

from chain.consensus.bft.committee import Committee, SignatureCache
from chain.consensus.bft.genesis import epoch_genesis
from chain.consensus.bft.replica import ReplicaConfig
from chain.consensus.simulator.byzantine import BEHAVIOURS
from chain.consensus.simulator.cluster import Cluster
from chain.consensus.simulator.network import Faults, SimNetwork
from chain.consensus.simulator.node import SimNode, sha256
from chain.crypto import Algorithm, PrivateKey

SIM_CONFIG = ReplicaConfig(round_timeout_ms=300, max_round_timeout_ms=2_400, idle_proposal_ms=60,
                           max_payload=16, max_clock_drift_ms=500, sync_retry_ms=100)
SETTLE_MS = 5_000  # after healing, everything injected this long before the end must be committed everywhere


@dataclass(frozen=True)
class Scenario:
    """Everything a run depends on; `from_seed` draws it, so a failing seed is reproduced from its number."""

    seed: int
    size: int
    byzantine: tuple[tuple[int, str], ...]
    crashes: tuple[tuple[int, int], ...]  # (seat, crash time); honest seats, restarted at heal time
    faults: Faults
    run_ms: int
    batch_every_ms: int
    algorithm: Algorithm = Algorithm.ECDSA_P256
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_seed(cls, seed: int) -> Scenario:
        """Draw a scenario: n in {4, 5, 7}, up to f Byzantine seats, crashes, loss, duplication, delays, partitions."""
        rng = random.Random(seed)
        size = rng.choice((4, 4, 4, 5, 7))
        f = (size - 1) // 3
        seats = list(range(size))
        rng.shuffle(seats)
        bad = rng.randint(0, f)
        byzantine = tuple(sorted((seats[i], rng.choice(sorted(BEHAVIOURS))) for i in range(bad)))
        honest = seats[bad:]
        heal = rng.randrange(500, 4_000)
        crashes = tuple(sorted((seat, rng.randrange(0, heal)) for seat in rng.sample(honest, rng.randint(0, 2))))
        partitions = []
        for _ in range(rng.randint(0, 2)):
            start = rng.randrange(0, heal)
            side = frozenset(rng.sample(range(size), rng.randint(1, size - 1)))
            partitions.append((start, rng.randrange(start, heal + 1), side))
        faults = Faults(heal_ms=heal, drop_per_mille=rng.choice((0, 20, 100, 300)),
                        duplicate_per_mille=rng.choice((0, 50, 200)), max_delay_ms=rng.choice((5, 30, 120, 400)),
                        stable_delay_ms=rng.choice((2, 10, 25)), partitions=tuple(partitions))
        return cls(seed, size, byzantine, crashes, faults, heal + SETTLE_MS + 2_000, rng.randrange(10, 60))


@dataclass(frozen=True)
class Outcome:
    """What a run showed: invariant violations (must be empty) and progress figures."""

    scenario: Scenario
    violations: tuple[str, ...]
    heights: tuple[int, ...]
    committed_after_heal: int
    refused: dict[str, int]
    delivered: int
    timeline: tuple[tuple[int, tuple[int, ...]], ...]  # (time, honest seats' committed heights), every 250 ms

    @property
    def ok(self) -> bool:
        """No invariant broken."""
        return not self.violations


def _key(seed: int, seat: int, algorithm: Algorithm) -> PrivateKey:
    """A deterministic validator key (below both curve orders with overwhelming probability)."""
    scalar = hashlib.sha256(b"sim-key" + seed.to_bytes(8, "big") + bytes([seat])).digest()
    return PrivateKey(algorithm, bytes([scalar[0] & 0x7F]) + scalar[1:])


def run_scenario(scenario: Scenario) -> Outcome:
    """Run a scenario to its end and check safety (agreement, identical roots) and liveness after healing."""
    rng = random.Random(scenario.seed ^ 0x5EED)
    net = SimNetwork(rng, scenario.faults)
    cluster = Cluster(net, scenario.size)
    keys = [_key(scenario.seed, i, scenario.algorithm) for i in range(scenario.size)]
    committee = Committee(0, tuple(k.public_key().encode() for k in keys), SignatureCache())
    genesis = epoch_genesis(0, 1, sha256(b"ledger genesis"), 0, sha256)
    behaviour = dict(scenario.byzantine)
    for seat in range(scenario.size):
        kind = BEHAVIOURS.get(behaviour.get(seat, ""), SimNode)
        for _ in range(2 if behaviour.get(seat) == "twins" else 1):
            cluster.add(kind(cluster, seat, keys[seat], committee, genesis, SIM_CONFIG))
    cluster.honest -= set(behaviour)
    for node in cluster.nodes():
        net.at(0, node.start)
    for seat, when in scenario.crashes:
        for node in cluster.seats[seat]:
            net.at(when, node.crash)
            net.at(scenario.faults.heal_ms, node.start)
    honest = sorted(cluster.honest)
    injected_after_heal: list[bytes] = []
    counter = 0
    t = 5
    while t < scenario.run_ms - SETTLE_MS:
        counter += 1
        digest = sha256(b"batch" + counter.to_bytes(8, "big"))
        seat = rng.choice(honest)
        if t >= scenario.faults.heal_ms:
            injected_after_heal.append(digest)
        for node in cluster.seats[seat]:
            net.at(t, partial(node.client_batch, digest))
        t += scenario.batch_every_ms
    timeline: list[tuple[int, tuple[int, ...]]] = []

    def sample() -> None:
        timeline.append((net.now, tuple(len(cluster.seats[s][0].log) for s in honest)))
        if net.now + 250 <= scenario.run_ms:
            net.at(net.now + 250, sample)

    net.at(0, sample)
    net.run_until(scenario.faults.heal_ms)
    at_heal = {s: len(cluster.seats[s][0].log) for s in honest}
    net.run_until(scenario.run_ms)
    _check_liveness(cluster, honest, injected_after_heal)
    refused: dict[str, int] = {}
    for node in cluster.nodes():
        if node.replica is not None:
            for code, count in node.replica.refused.items():
                refused[code] = refused.get(code, 0) + count
    heights = tuple(len(cluster.seats[s][0].log) for s in honest)
    return Outcome(scenario, tuple(cluster.violations), heights,
                   min(len(cluster.seats[s][0].log) - at_heal[s] for s in honest), refused, net.delivered,
                   tuple(timeline))


def _check_liveness(cluster: Cluster, honest: list[int], injected: list[bytes]) -> None:
    """After healing, every batch a client gave an honest seat is committed at every honest seat."""
    for seat in honest:
        node = cluster.seats[seat][0]
        lost = [d for d in injected if d not in node.batches.committed]
        if lost:
            cluster.violation(f"seat {seat}: {len(lost)} of {len(injected)} batches given after healing never committed")
