"""Catch-up answers: strict parsing, and the consensus anchor must be the certified block that produced the ledger block."""
from __future__ import annotations

from dataclasses import replace

import pytest

from chain.codec import encode
from chain.codec.schema import to_cbor
from chain.consensus.bft.committee import SignatureCache
from chain.consensus.bft.genesis import epoch_genesis
from chain.consensus.bft.messages import Block, CertifiedBlock, QuorumCert, Signed, vote_bytes
from chain.crypto import verify_encoded
from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import ChainStore, Proposal
from chain.ledger.devnet import build_devnet
from chain.node.catchup import CatchUpError, anchor_key, check_anchor, parse, serve
from chain.storage import MemoryKV


@pytest.fixture(scope="module")
def setup() -> tuple[ChainStore, Proposal, CertifiedBlock, object]:
    net = build_devnet("classic", validators=4)
    kv = MemoryKV()
    chain = ChainStore.create(kv, net.genesis, [v.key for v in net.validators])
    validators = chain.validators().validators
    keys = {v.key.public_key().encode(): v.key for v in net.validators}
    ordered = [keys[v.public_key] for v in validators]
    genesis_header = chain.header(0)
    genesis = epoch_genesis(0, 0, genesis_header.hash(chain.suite), genesis_header.timestamp_ms, chain.suite.digest)
    block = Block(0, 1, 1, genesis.qc.block_id, genesis.qc, (), genesis_header.timestamp_ms + 500, 2)
    block_id = block.id(chain.suite.digest)
    votes = tuple(Signed(i, ordered[i].sign(vote_bytes(0, 1, 1, block_id)).encode()) for i in range(3))
    anchor = CertifiedBlock(block, QuorumCert(0, 1, 1, block_id, votes))
    proposal = chain.build_ordered([], block.timestamp_ms, validators[2].address)
    return chain, proposal, anchor, (net, ordered)


def test_the_anchor_that_produced_the_block_is_accepted(setup) -> None:  # type: ignore[no-untyped-def]
    chain, proposal, anchor, _ = setup
    check_anchor(chain, proposal.header, anchor, SignatureCache(verify_encoded))


@pytest.mark.parametrize("change, problem", [
    (lambda a: replace(a, block=replace(a.block, epoch=3)), "epoch"),
    (lambda a: replace(a, block=replace(a.block, author=1)), "QC is for another block"),
    (lambda a: replace(a, qc=replace(a.qc, votes=a.qc.votes[:2])), "anchor QC"),
    (lambda a: replace(a, qc=replace(a.qc, votes=(a.qc.votes[0], a.qc.votes[1], Signed(2, a.qc.votes[0].signature)))),
     "anchor QC"),
])
def test_an_anchor_that_does_not_fit_is_refused(setup, change, problem) -> None:  # type: ignore[no-untyped-def]
    chain, proposal, anchor, _ = setup
    with pytest.raises(CatchUpError, match=problem):
        check_anchor(chain, proposal.header, change(anchor), SignatureCache(verify_encoded))


def test_an_anchor_of_another_author_or_time_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    chain, proposal, anchor, _ = setup
    for field, value, problem in (("proposer", b"\x00" * len(proposal.header.proposer), "author"),
                                  ("timestamp_ms", proposal.header.timestamp_ms + 1, "time")):
        header = replace(proposal.header, **{field: value})
        with pytest.raises(CatchUpError, match=problem):
            check_anchor(chain, header, anchor, SignatureCache(verify_encoded))


def test_serving_gives_blocks_with_the_anchor_of_the_last_and_parsing_is_strict(setup) -> None:  # type: ignore[no-untyped-def]
    chain, _, anchor, (net, ordered) = setup
    kv = MemoryKV()
    net_chain = ChainStore.create(kv, net.genesis, ordered)
    assert serve(net_chain, kv, 1) is None  # nothing above the head
    proposal = net_chain.build_ordered([], anchor.block.timestamp_ms, chain.validators().validators[2].address)
    block_hash = proposal.block_hash(net_chain.suite)
    proposal.records[anchor_key(1)] = to_cbor(anchor)
    net_chain.commit(proposal, CommitCertificate.sign(1, block_hash, ordered))
    blocks, served_anchor = parse(serve(net_chain, kv, 1) or b"")
    assert [b.height for b in blocks] == [1] and served_anchor == anchor
    for bad in (encode([]), encode([[b"x"], None]), encode([[blocks[0].encode(), blocks[0].encode()], None]),
                encode([[], 5])):
        with pytest.raises(Exception):
            parse(bad)
