"""Byzantine seats: each runs the real replica and then lies on the wire in one specific way."""
from __future__ import annotations

from dataclasses import replace

from chain.consensus.bft.messages import Message, Proposal, Vote, encode_message, proposal_bytes, vote_bytes
from chain.consensus.simulator.node import INVALID_BATCH_PREFIX, BatchPush, SimNode, sha256


class Silent(SimNode):
    """Says nothing at all (a validator that is down from the start)."""

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        return []

    def serves_batches(self) -> bool:
        return False


class Equivocator(SimNode):
    """As leader, sends one block to half the committee and a conflicting one to the other half."""

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        if not isinstance(message, Proposal):
            return super().outgoing(message)
        twin = replace(message.block, timestamp_ms=message.block.timestamp_ms + 1, payload=message.block.payload[:-1])
        forked = Proposal(twin, message.last_tc, self.key.sign(proposal_bytes(twin.id(sha256))).encode())
        out: list[tuple[int | None, bytes]] = []
        for seat in self.cluster.others(self.index):
            out.append((seat, encode_message(message if seat % 2 else forked)))
        return out


class DoubleVoter(SimNode):
    """Votes for the block it sees and, to half the committee, for a conflicting block in the same round."""

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        if not isinstance(message, Vote):
            return super().outgoing(message)
        other_id = sha256(b"conflict" + message.block_id)
        signature = self.key.sign(vote_bytes(message.epoch, message.round, message.height, other_id)).encode()
        conflicting = replace(message, block_id=other_id, signature=signature)
        return [(seat, encode_message(message if seat % 2 else conflicting)) for seat in self.cluster.others(self.index)]


class Forger(SimNode):
    """Sends votes in other members' names, corrupted signatures and undecodable bytes."""

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        out = super().outgoing(message)
        if isinstance(message, Vote):
            for victim in self.cluster.others(self.index):
                forged = replace(message, signer=victim)  # signed with our key, claims to be the victim's
                out.append((None, encode_message(forged)))
            broken = bytearray(message.signature)
            broken[-1] ^= 1
            out.append((None, encode_message(replace(message, signature=bytes(broken)))))
        out.append((None, b"\x82\x02\xff garbage"))
        return out


class Withholder(SimNode):
    """As leader, proposes a batch nobody has (and never hands it out), or an invalid one; never serves batches."""

    def outgoing(self, message: Message) -> list[tuple[int | None, bytes]]:
        if not isinstance(message, Proposal):
            return super().outgoing(message)
        r = message.block.round
        hidden = (INVALID_BATCH_PREFIX if r % 2 else b"withheld:") + r.to_bytes(8, "big") + bytes([self.index])
        if hidden.startswith(INVALID_BATCH_PREFIX):
            self.cluster.broadcast(self.index, BatchPush((hidden,)))
        block = replace(message.block, payload=message.block.payload[: self.config.max_payload - 1] + (hidden,))
        forged = Proposal(block, message.last_tc, self.key.sign(proposal_bytes(block.id(sha256))).encode())
        return [(None, encode_message(forged))]

    def serves_batches(self) -> bool:
        return False


class Twin(SimNode):
    """An honest replica that shares its seat and key with another one (Twins-style testing)."""


BEHAVIOURS: dict[str, type[SimNode]] = {
    "silent": Silent,
    "equivocator": Equivocator,
    "double_voter": DoubleVoter,
    "forger": Forger,
    "withholder": Withholder,
    "twins": Twin,
}
