"""Block sync: a follower replays certified blocks from an untrusted peer and refuses anything that does not check out."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.ledger.block import BlockHeader, CommitCertificate, Vote
from chain.ledger.block_sync import BlockSync, SyncedBlock, serve_blocks, sync_genesis
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import Devnet, build_devnet
from chain.ledger.errors import LedgerError, SyncError, SyncProblem
from chain.ledger.operations import RegisterDataAccount, RegisterNode, WriteKV
from chain.storage.memory import MemoryKV
from tests.chain.ledger.conftest import LedgerHarness


def grow(h: LedgerHarness, blocks: int = 4) -> None:
    """A data account, then blocks of writes (some overwriting earlier keys)."""
    h.run([RegisterDataAccount("acct", ())])
    for i in range(blocks):
        h.block(*(h.tx([WriteKV("acct", f"k{(i + j) % 3}", b"v%d-%d" % (i, j), None)]) for j in range(2)))


def follower(source: LedgerHarness) -> ChainStore:
    """A new node's store, started from the peer's block 0."""
    genesis = serve_blocks(source.chain, 0, 0)[0]
    return sync_genesis(MemoryKV(), genesis, source.chain.ledger_id, source.suite.name)


def records(chain: ChainStore) -> list[tuple[bytes, bytes]]:
    return list(chain.kv.iterate())


def resign(h: LedgerHarness, header: BlockHeader) -> CommitCertificate:
    """A valid certificate over a (possibly altered) header: what a Byzantine quorum could produce."""
    return CommitCertificate.sign(header.height, header.hash(h.suite), h.validator_keys)


@pytest.fixture(scope="module")
def four_validators() -> Devnet:
    return build_devnet("classic", validators=4)


@pytest.fixture
def quorum_ledger(four_validators: Devnet) -> LedgerHarness:
    net = four_validators
    return LedgerHarness(net, ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators]))


def test_a_new_node_catches_up_byte_for_byte(ledger: LedgerHarness) -> None:
    grow(ledger)
    node = follower(ledger)
    sync = BlockSync(node)
    while node.height < ledger.chain.height:
        batch = serve_blocks(ledger.chain, node.height + 1, node.height + 100, max_bytes=3000)
        assert batch
        sync.apply_all(SyncedBlock.decode(block.encode()) for block in batch)  # as they travel
    assert node.block_hash(node.height) == ledger.chain.block_hash(ledger.chain.height)
    assert records(node) == records(ledger.chain)


def test_serving_clips_to_the_head_and_the_size_limit(classic_ledger: LedgerHarness) -> None:
    grow(classic_ledger, 2)
    chain = classic_ledger.chain
    assert [b.height for b in serve_blocks(chain, 1, 99)] == list(range(1, chain.height + 1))
    assert [b.height for b in serve_blocks(chain, 1, 99, max_bytes=1)] == [1]  # always one block
    one = len(serve_blocks(chain, 2, 2)[0].encode()) + len(serve_blocks(chain, 3, 3)[0].encode())
    assert [b.height for b in serve_blocks(chain, 2, 99, max_bytes=one)] == [2, 3]
    assert serve_blocks(chain, chain.height + 1, chain.height + 5) == []
    with pytest.raises(LedgerError):
        serve_blocks(chain, 3, 2)


Tamper = Callable[[LedgerHarness, SyncedBlock, SyncedBlock], SyncedBlock]


def _flip_tx_byte(h: LedgerHarness, block: SyncedBlock, other: SyncedBlock) -> SyncedBlock:
    raw = bytearray(block.transactions[0])
    raw[-5] ^= 0x01
    return replace(block, transactions=(bytes(raw),) + block.transactions[1:])


def _relink(h: LedgerHarness, block: SyncedBlock, other: SyncedBlock, **changes: object) -> SyncedBlock:
    header = replace(block.header, **changes)
    return SyncedBlock(header, block.transactions, resign(h, header))


TAMPERED: dict[str, tuple[Tamper, SyncProblem]] = {
    "header-state-root": (lambda h, b, o: replace(b, header=replace(b.header, state_root=bytes(32))),
                          SyncProblem.BAD_CERTIFICATE),
    "header-timestamp": (lambda h, b, o: replace(b, header=replace(b.header, timestamp_ms=b.header.timestamp_ms + 1)),
                         SyncProblem.BAD_CERTIFICATE),
    "tx-byte": (_flip_tx_byte, SyncProblem.REPLAY_MISMATCH),
    "tx-dropped": (lambda h, b, o: replace(b, transactions=b.transactions[1:]), SyncProblem.REPLAY_MISMATCH),
    "tx-swapped": (lambda h, b, o: replace(b, transactions=o.transactions), SyncProblem.REPLAY_MISMATCH),
    "tx-reordered": (lambda h, b, o: replace(b, transactions=b.transactions[::-1]), SyncProblem.REPLAY_MISMATCH),
    "certificate-of-another-block": (lambda h, b, o: replace(b, certificate=o.certificate), SyncProblem.BAD_CERTIFICATE),
    "certificate-by-strangers": (
        lambda h, b, o: replace(b, certificate=CommitCertificate.sign(
            b.height, b.header.hash(h.suite), [h.suite.generate_keypair().private])),
        SyncProblem.BAD_CERTIFICATE),
    "certificate-bad-signature": (
        lambda h, b, o: replace(b, certificate=replace(b.certificate, votes=tuple(
            Vote(v.public_key, o.certificate.votes[0].signature) for v in b.certificate.votes))),
        SyncProblem.BAD_CERTIFICATE),
    "certificate-empty": (lambda h, b, o: replace(b, certificate=replace(b.certificate, votes=())), SyncProblem.BAD_CERTIFICATE),
    "previous-hash": (lambda h, b, o: _relink(h, b, o, previous_hash=bytes(32)), SyncProblem.WRONG_PREVIOUS_HASH),
    "ledger-id": (lambda h, b, o: _relink(h, b, o, ledger_id=bytes(32)), SyncProblem.WRONG_LEDGER),
    "validators-hash": (lambda h, b, o: _relink(h, b, o, validators_hash=bytes(32)), SyncProblem.UNKNOWN_VALIDATORS),
    "height": (lambda h, b, o: _relink(h, b, o, height=b.height + 1), SyncProblem.NOT_NEXT),
    "certified-lie": (lambda h, b, o: _relink(h, b, o, state_root=bytes(32)), SyncProblem.REPLAY_MISMATCH),
    "certified-wrong-receipts": (lambda h, b, o: _relink(h, b, o, receipts_root=o.header.receipts_root),
                                 SyncProblem.REPLAY_MISMATCH),
    "certified-old-timestamp": (lambda h, b, o: _relink(h, b, o, timestamp_ms=0), SyncProblem.REPLAY_MISMATCH),
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_a_tampered_block_is_refused_and_changes_nothing(classic_ledger: LedgerHarness, name: str) -> None:
    tamper, problem = TAMPERED[name]
    grow(classic_ledger, 3)
    node = follower(classic_ledger)
    sync = BlockSync(node)
    sync.apply_all(serve_blocks(classic_ledger.chain, 1, 1))
    genuine, other = serve_blocks(classic_ledger.chain, 2, 3)
    before = records(node)
    with pytest.raises(SyncError) as caught:
        sync.apply(tamper(classic_ledger, genuine, other))
    assert caught.value.problem is problem, str(caught.value)
    assert caught.value.code == problem.value and caught.value.height is not None
    assert str(caught.value).startswith(f"block {caught.value.height}")
    assert records(node) == before
    sync.apply(genuine)  # the follower is not stuck
    assert node.height == 2


def test_too_few_or_repeated_votes_are_not_a_quorum(quorum_ledger: LedgerHarness) -> None:
    quorum_ledger.run([RegisterDataAccount("acct", ())])
    node = follower(quorum_ledger)
    block = serve_blocks(quorum_ledger.chain, 1, 1)[0]
    keys = quorum_ledger.validator_keys
    block_hash = block.header.hash(quorum_ledger.suite)
    two = CommitCertificate.sign(1, block_hash, keys[:2])
    repeated = CommitCertificate.sign(1, block_hash, [keys[0]] * 3)
    for certificate, words in ((two, "2 votes; 3 are needed"), (repeated, "duplicate vote")):
        with pytest.raises(SyncError, match=words) as caught:
            BlockSync(node).apply(replace(block, certificate=certificate))
        assert caught.value.problem is SyncProblem.BAD_CERTIFICATE
    BlockSync(node).apply(replace(block, certificate=CommitCertificate.sign(1, block_hash, keys[1:])))
    assert node.height == 1


def test_blocks_before_a_refused_one_stay_committed(classic_ledger: LedgerHarness) -> None:
    grow(classic_ledger, 4)
    node = follower(classic_ledger)
    blocks = serve_blocks(classic_ledger.chain, 1, 5)
    blocks[3] = _flip_tx_byte(classic_ledger, blocks[3], blocks[3])
    with pytest.raises(SyncError, match="block 4") as caught:
        BlockSync(node).apply_all(blocks)
    assert caught.value.height == 4 and node.height == 3
    with pytest.raises(SyncError) as again:
        BlockSync(node).apply(blocks[1])  # already applied
    assert again.value.problem is SyncProblem.NOT_NEXT


def test_a_validator_set_change_inside_the_range_is_followed(classic_ledger: LedgerHarness) -> None:
    h = classic_ledger
    node = follower(h)
    newcomer = h.net.issue("org2", "node-new", "node")
    register = RegisterNode(newcomer.certificate.der, newcomer.key.public_key().encode())
    receipt, _ = h.run([register], *h.net.admins)  # both participants approve: scheduled at once
    assert receipt is not None and receipt.success
    takes_effect = h.chain.membership_changes()[0].activation_height
    h.run([RegisterDataAccount("acct", ())])  # block takes_effect - 1: the join is applied at its end
    h.run([WriteKV("acct", "k", b"v", None)])  # the first block the new set signs
    assert takes_effect == h.chain.height == h.chain.validators_since()
    blocks = serve_blocks(h.chain, 1, h.chain.height)
    first_new = blocks[takes_effect - 1]
    assert len(first_new.certificate.votes) == 2 and len(blocks[takes_effect - 2].certificate.votes) == 1
    lone = CommitCertificate.sign(takes_effect, first_new.header.hash(h.suite), [h.net.validators[0].key])
    sync = BlockSync(node)
    sync.apply_all(blocks[:takes_effect - 1])
    assert node.validators() == h.chain.validators() and len(node.validators().validators) == 2
    assert node.validators_since() == takes_effect
    with pytest.raises(SyncError) as caught:  # the old validator alone is no longer a quorum
        sync.apply(replace(first_new, certificate=lone))
    assert caught.value.problem is SyncProblem.BAD_CERTIFICATE
    sync.apply_all(blocks[takes_effect - 1:])
    assert records(node) == records(h.chain)


def test_genesis_from_a_peer_must_be_this_ledgers(classic_ledger: LedgerHarness, devnets: dict[str, Devnet]) -> None:
    genesis = serve_blocks(classic_ledger.chain, 0, 0)[0]
    with pytest.raises(SyncError) as caught:
        sync_genesis(MemoryKV(), genesis, bytes(32), "classic")
    assert caught.value.problem is SyncProblem.WRONG_LEDGER
    other = ChainStore.create(MemoryKV(), devnets["sm"].genesis, [v.key for v in devnets["sm"].validators])
    with pytest.raises(SyncError) as caught:
        sync_genesis(MemoryKV(), serve_blocks(other, 0, 0)[0], classic_ledger.chain.ledger_id, "classic")
    assert caught.value.problem is SyncProblem.WRONG_LEDGER
    suite = classic_ledger.suite
    stranger = CommitCertificate.sign(0, genesis.header.hash(suite), [suite.generate_keypair().private])
    kv = MemoryKV()
    with pytest.raises(SyncError) as caught:
        sync_genesis(kv, replace(genesis, certificate=stranger), classic_ledger.chain.ledger_id, "classic")
    assert caught.value.problem is SyncProblem.REPLAY_MISMATCH and list(kv.iterate()) == []
    with pytest.raises(SyncError) as caught:
        sync_genesis(kv, replace(genesis, transactions=()), classic_ledger.chain.ledger_id, "classic")
    assert caught.value.problem is SyncProblem.MALFORMED


def test_undecodable_bytes_are_malformed(classic_ledger: LedgerHarness) -> None:
    raw = serve_blocks(classic_ledger.chain, 0, 0)[0].encode()
    for bad in (b"", b"\x80", raw[:-1], raw + b"\x00", b"\x82" + raw[1:]):
        with pytest.raises(SyncError) as caught:
            SyncedBlock.decode(bad)
        assert caught.value.problem is SyncProblem.MALFORMED and caught.value.code == "malformed"
    with pytest.raises(SyncError):
        SyncedBlock.decode(raw, max_size=len(raw) - 1)


_bytes32 = st.binary(min_size=32, max_size=32)
headers = st.builds(BlockHeader, _bytes32, st.integers(0, 2**63), _bytes32, st.integers(0, 2**63), _bytes32, _bytes32,
                    _bytes32, _bytes32, _bytes32, st.binary(max_size=21))
certificates = st.builds(CommitCertificate, st.integers(0, 2**63), _bytes32,
                         st.lists(st.builds(Vote, st.binary(max_size=70), st.binary(max_size=80)), max_size=4).map(tuple))
synced_blocks = st.builds(SyncedBlock, headers, st.lists(st.binary(max_size=60), max_size=5).map(tuple), certificates)


@settings(max_examples=200, deadline=None)
@given(synced_blocks)
def test_synced_blocks_round_trip_through_their_encoding(block: SyncedBlock) -> None:
    raw = block.encode()
    assert SyncedBlock.decode(raw) == block
    assert SyncedBlock.decode(raw).encode() == raw
