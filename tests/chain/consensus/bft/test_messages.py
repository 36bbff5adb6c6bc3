"""Consensus messages: canonical round trips, and refusals that name what was wrong."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from chain.consensus.bft.errors import MalformedMessage
from chain.consensus.bft.messages import (
    MAX_MESSAGE_BYTES, Block, CertifiedBlock, Proposal, QuorumCert, Signed, SyncRequest, SyncResponse, Timeout,
    TimeoutCert, Vote, decode_message, encode_message,
)
from chain.consensus.simulator.node import sha256

u = st.integers(min_value=0, max_value=2**32)
digests = st.binary(min_size=32, max_size=32)
signed = st.builds(Signed, st.integers(0, 99), st.binary(min_size=66, max_size=66))
qcs = st.builds(QuorumCert, u, u, u, digests, st.lists(signed, max_size=7).map(tuple))
tcs = st.builds(TimeoutCert, u, u, st.lists(u, max_size=7).map(tuple), st.lists(signed, max_size=7).map(tuple))
blocks = st.builds(Block, u, u, u, digests, qcs, st.lists(digests, max_size=5).map(tuple), u, st.integers(0, 99))
messages = st.one_of(
    st.builds(Proposal, blocks, st.none() | tcs, st.binary(max_size=70)),
    st.builds(Vote, u, u, u, digests, st.integers(0, 99), st.binary(max_size=70)),
    st.builds(Timeout, u, u, qcs, st.none() | tcs, st.integers(0, 99), st.binary(max_size=70)),
    st.builds(SyncRequest, u, u, digests),
    st.builds(SyncResponse, u, st.lists(st.builds(CertifiedBlock, blocks, qcs), max_size=3).map(tuple)),
)


@given(messages)
def test_every_message_round_trips_canonically(message: object) -> None:
    data = encode_message(message)  # type: ignore[arg-type]
    assert decode_message(data) == message
    assert encode_message(decode_message(data)) == data


@given(blocks, st.integers(0, 10))
def test_block_id_ignores_qc_signatures_but_not_content(block: Block, extra: int) -> None:
    resigned = Block(block.epoch, block.round, block.height, block.parent,
                     QuorumCert(block.justify.epoch, block.justify.round, block.justify.height,
                                block.justify.block_id, ()), block.payload, block.timestamp_ms, block.author)
    assert resigned.id(sha256) == block.id(sha256)
    moved = Block(block.epoch, block.round, block.height, block.parent, block.justify, block.payload,
                  block.timestamp_ms + 1 + extra, block.author)
    assert moved.id(sha256) != block.id(sha256)


@pytest.mark.parametrize("data, words", [
    (b"\xff", "malformed"),
    (b"\x82\x09\x80", "known kind"),
    (b"\x82\x02\x80", "malformed"),
    (b"\x83\x02\x80\x80", "known kind"),
])
def test_refuses_bytes_that_are_not_a_message(data: bytes, words: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_message(data)
    assert info.value.code == "malformed"
    assert words in str(info.value) or info.value.code == words


def test_refuses_oversized_messages_before_decoding() -> None:
    with pytest.raises(MalformedMessage, match="exceeds"):
        decode_message(b"\x00" * (MAX_MESSAGE_BYTES + 1))


def test_refuses_non_canonical_encodings() -> None:
    vote = Vote(0, 1, 1, b"x" * 32, 0, b"s")
    data = encode_message(vote)
    assert data[2] == 0x86  # the 6-field array; re-encode its first int (0) in a longer form
    longer = data[:3] + b"\x18\x00" + data[4:]
    with pytest.raises(MalformedMessage):
        decode_message(longer)
