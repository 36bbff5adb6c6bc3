"""The seats of a simulated committee, wired to one SimNetwork, with the safety bookkeeping."""
from __future__ import annotations

from typing import Any, Iterable

from chain.consensus.bft.messages import Block
from chain.consensus.simulator.network import SimNetwork
from chain.consensus.simulator.node import SimNode


class Cluster:
    """Delivers seat-addressed messages to every node in a seat (twins share one) and watches commits."""

    def __init__(self, net: SimNetwork, size: int) -> None:
        self.net = net
        self.size = size
        self.seats: dict[int, list[SimNode]] = {i: [] for i in range(size)}
        self.honest: set[int] = set(range(size))
        self.decided: dict[int, tuple[bytes, bytes]] = {}  # height -> (block id, state root), from honest seats
        self.violations: list[str] = []

    def add(self, node: SimNode) -> None:
        """Seat a node."""
        self.seats[node.index].append(node)

    def nodes(self) -> Iterable[SimNode]:
        """Every node, twins included."""
        for seat in self.seats.values():
            yield from seat

    def others(self, index: int) -> list[int]:
        """Every seat but index."""
        return [i for i in range(self.size) if i != index]

    def send(self, sender: int, receiver: int, payload: Any) -> None:
        """To every node in the receiver's seat."""
        for node in self.seats[receiver]:
            self.net.send(sender, receiver, payload, node.deliver)

    def broadcast(self, sender: int, payload: Any) -> None:
        """To every other seat."""
        for seat in self.others(sender):
            self.send(sender, seat, payload)

    def violation(self, text: str) -> None:
        """Record a broken invariant."""
        self.violations.append(f"t={self.net.now}: {text}")

    def committed(self, node: SimNode, block: Block, block_id: bytes, root: bytes) -> None:
        """Check agreement: one block and one state root per height across honest seats."""
        if node.index not in self.honest:
            return
        decided = self.decided.setdefault(block.height, (block_id, root))
        if decided[0] != block_id:
            self.violation(f"height {block.height}: seat {node.index} committed a different block")
        elif decided[1] != root:
            self.violation(f"height {block.height}: seat {node.index} has a different state root")
