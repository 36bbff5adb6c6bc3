"""BFT ordering: a two-chain HotStuff-family protocol (Jolteon / DiemBFT v4, HotStuff-2) with all-to-all votes.

The replica in `replica.py` is a pure state machine (sans-IO): it takes
messages, batch arrivals and clock ticks, and returns actions (send, commit,
fetch, wake). `chain.consensus.simulator` drives many replicas over a seeded
network; the node drives one over `chain.net`. See docs/consensus.md.
"""
from __future__ import annotations

from chain.consensus.bft.actions import Action, Broadcast, Commit, FetchBatches, Send, Wake
from chain.consensus.bft.committee import Committee
from chain.consensus.bft.messages import Block, Message, QuorumCert, TimeoutCert, decode_message, encode_message
from chain.consensus.bft.replica import Replica, ReplicaConfig
from chain.consensus.bft.storage import MemoryConsensusStorage

__all__ = [
    "Action", "Block", "Broadcast", "Commit", "Committee", "FetchBatches", "MemoryConsensusStorage", "Message",
    "QuorumCert", "Replica", "ReplicaConfig", "Send", "TimeoutCert", "Wake", "decode_message", "encode_message",
]
