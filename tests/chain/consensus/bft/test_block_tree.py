"""Block tree: the two-chain commit rule, ancestry, and serving certified paths."""
from __future__ import annotations

from chain.consensus.bft.block_tree import BlockTree
from chain.consensus.bft.genesis import epoch_genesis
from chain.consensus.bft.messages import Block, QuorumCert, Signed
from chain.consensus.simulator.node import sha256

GENESIS = epoch_genesis(0, 1, b"anchor", 0, sha256)


def _child(parent: Block, round: int, tag: bytes = b"") -> tuple[Block, bytes]:
    pid = parent.id(sha256)
    qc = QuorumCert(0, parent.round, parent.height, pid, (Signed(0, b"s"),)) if parent.round else GENESIS.qc
    block = Block(0, round, parent.height + 1, pid, qc, (sha256(tag + bytes([round])),), round * 10, round % 4)
    return block, block.id(sha256)


def _certify(block: Block, block_id: bytes) -> QuorumCert:
    return QuorumCert(0, block.round, block.height, block_id, (Signed(0, b"s"),))


def test_a_block_commits_when_its_child_from_the_next_round_is_certified() -> None:
    tree = BlockTree(sha256, GENESIS)
    b1, i1 = _child(GENESIS.block, 1)
    b2, i2 = _child(b1, 2)
    tree.add(b1), tree.add(b2)
    assert tree.certify(_certify(b1, i1)) == []
    assert tree.certify(_certify(b2, i2)) == [b1]
    assert tree.committed_id == i1 and tree.high_qc.round == 2


def test_a_round_gap_does_not_commit_but_a_later_direct_chain_commits_everything() -> None:
    tree = BlockTree(sha256, GENESIS)
    b1, i1 = _child(GENESIS.block, 1)
    b3, i3 = _child(b1, 3)
    b4, i4 = _child(b3, 4)
    for b in (b1, b3, b4):
        tree.add(b)
    tree.certify(_certify(b1, i1))
    assert tree.certify(_certify(b3, i3)) == []
    assert tree.certify(_certify(b4, i4)) == [b1, b3]
    assert tree.uncommitted_payload(i4) == set(b4.payload)


def test_commit_waits_for_missing_ancestors() -> None:
    tree = BlockTree(sha256, GENESIS)
    b1, i1 = _child(GENESIS.block, 1)
    b2, i2 = _child(b1, 2)
    b3, i3 = _child(b2, 3)
    tree.add(b2), tree.add(b3)
    assert tree.certify(_certify(b3, i3)) == []  # b1 unknown
    tree.add(b1)
    assert tree.certify(_certify(b3, i3)) == [b1, b2]


def test_forks_are_pruned_at_commit() -> None:
    tree = BlockTree(sha256, GENESIS)
    b1, i1 = _child(GENESIS.block, 1)
    f1, fi = _child(GENESIS.block, 1, tag=b"fork")
    b2, i2 = _child(b1, 2)
    for b in (b1, f1, b2):
        tree.add(b)
    tree.certify(_certify(b1, i1))
    tree.certify(_certify(b2, i2))
    assert tree.get(fi) is None and tree.get(i2) is not None


def test_certified_path_serves_committed_and_uncommitted_blocks_in_order() -> None:
    tree = BlockTree(sha256, GENESIS)
    parent, chain = GENESIS.block, []
    for r in range(1, 7):
        block, bid = _child(parent, r)
        tree.add(block)
        tree.certify(_certify(block, bid))
        chain.append((block, bid))
        parent = block
    assert tree.committed.height == chain[-2][0].height
    path = tree.certified_path(chain[-1][1], above_height=2, limit=100)
    assert [c.block.height for c in path] == [3, 4, 5, 6, 7]
    assert all(c.qc.block_id == c.block.id(sha256) for c in path)
    assert len(tree.certified_path(chain[-1][1], above_height=2, limit=2)) == 2
