"""A seeded event queue and message network with delay, loss, duplication, reordering and partitions."""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Faults:
    """Network behaviour before the network heals at `heal_ms`; afterwards delays are bounded and nothing is lost."""

    heal_ms: int
    drop_per_mille: int = 0
    duplicate_per_mille: int = 0
    max_delay_ms: int = 30
    stable_delay_ms: int = 20
    partitions: tuple[tuple[int, int, frozenset[int]], ...] = ()  # (start, end, one side)


@dataclass(order=True)
class _Event:
    at: int
    seq: int
    action: Callable[[], None] = field(compare=False)


class SimNetwork:
    """Virtual time plus delivery of (sender, receiver, payload) under the configured faults."""

    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.rng, self.faults = rng, faults
        self.now = 0
        self._queue: list[_Event] = []
        self._seq = 0
        self.delivered = 0
        self.dropped = 0

    def at(self, when: int, action: Callable[[], None]) -> None:
        """Run action at virtual time `when` (never in the past)."""
        self._seq += 1
        heapq.heappush(self._queue, _Event(max(when, self.now), self._seq, action))

    def run_until(self, end: int) -> None:
        """Process events in time order up to `end`."""
        while self._queue and self._queue[0].at <= end:
            event = heapq.heappop(self._queue)
            self.now = event.at
            event.action()
        self.now = end

    def _cut(self, a: int, b: int) -> bool:
        for start, end, side in self.faults.partitions:
            if start <= self.now < end and ((a in side) != (b in side)):
                return True
        return False

    def send(self, sender: int, receiver: int, payload: Any, deliver: Callable[[int, Any], None]) -> None:
        """Schedule delivery to receiver (deliver(sender, payload)), subject to faults."""
        healed = self.now >= self.faults.heal_ms
        if not healed and (self._cut(sender, receiver) or self.rng.randrange(1000) < self.faults.drop_per_mille):
            self.dropped += 1
            return
        copies = 2 if not healed and self.rng.randrange(1000) < self.faults.duplicate_per_mille else 1
        for _ in range(copies):
            limit = self.faults.stable_delay_ms if healed else self.faults.max_delay_ms
            delay = 1 + self.rng.randrange(limit)
            self.delivered += 1
            self.at(self.now + delay, lambda: deliver(sender, payload))
