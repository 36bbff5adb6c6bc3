"""Restoring a new node's ledger from a peer's snapshot: verified from genesis, all or nothing."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chain.codec.schema import to_cbor
from chain.ledger.block import ValidatorSet
from chain.ledger.block_sync import SyncError
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import build_devnet
from chain.ledger.errors import Pruned
from chain.ledger.operations import RegisterDataAccount, RegisterNode, WriteKV
from chain.ledger.smt import ProofError
from chain.node.bootstrap import BootstrapError, restore
from chain.node.snapshots import SnapshotFiles
from chain.storage import LevelDBKV, MemoryKV
from tests.chain.ledger.conftest import LedgerHarness


class Peer:
    """The answers a node gives (headers, proven state, snapshot), with an optional lie."""

    def __init__(self, chain: ChainStore) -> None:
        self.chain = chain
        self.files = SnapshotFiles(chain)
        self.lie: Any = None

    def call(self, method: str, ledger: str, **p: Any) -> Any:
        answer = self._answer(method, p)
        return self.lie(method, answer) if self.lie else answer

    def _answer(self, method: str, p: dict[str, Any]) -> Any:
        if method == "headers":
            last = min(p["last"], self.chain.height, p["first"] + 2)  # small pages, to exercise paging
            return [[self.chain.header(h).encode(), self.chain.certificate(h).encode()] for h in range(p["first"], last + 1)]
        if method == "state":
            proof = self.chain.prove_state(p["key"], p["height"])
            return {"height": proof.height, "value": proof.value, "proof": proof.proof.to_cbor()}
        if method == "snapshot":
            return self.files.manifest()
        assert method == "snapshot_chunk"
        return self.files.chunk(p["height"], p["index"])


@pytest.fixture(scope="module")
def source() -> LedgerHarness:
    """A ledger of 12 blocks whose validator set changed (a joined node) on the way."""
    net = build_devnet("classic", validators=1)
    h = LedgerHarness(net, ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators]))
    h.run([RegisterDataAccount("acct", ())])
    newcomer = net.issue("org2", "node-new", "node")
    assert h.run([RegisterNode(newcomer.certificate.der, newcomer.key.public_key().encode())], *net.admins)[0].success
    for i in range(10):
        assert h.run([WriteKV("acct", f"k{i}", b"v%d" % i, None)])[0].success
    assert len(h.chain.validators().validators) == 2 and h.chain.validators_since() > 1
    return h


def _new_node(tmp_path: Path, h: LedgerHarness) -> Path:
    path = tmp_path / "ledger"
    kv = LevelDBKV(str(path))
    ChainStore.create(kv, h.net.genesis, [v.key for v in h.net.validators])
    kv.close()
    return path


def test_a_new_node_gets_the_verified_state_and_keeps_only_the_snapshot(tmp_path: Path, source: LedgerHarness) -> None:
    path = _new_node(tmp_path, source)
    height = restore(Peer(source.chain), "main", path)
    assert height == source.chain.height
    kv = LevelDBKV(str(path))
    try:
        restored = ChainStore(kv)
        assert restored.height == height and restored.snapshot_height == height
        assert restored.header(height) == source.chain.header(height)
        assert restored.validators() == source.chain.validators()
        assert restored.validators_since() == source.chain.validators_since()
        with pytest.raises(Pruned):
            restored.header(1)
    finally:
        kv.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger"]  # no staging or retired store left


def _unchanged(path: Path) -> None:
    kv = LevelDBKV(str(path))
    try:
        assert ChainStore(kv).height == 0
    finally:
        kv.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["ledger"]


def test_a_tampered_chunk_is_refused_and_the_store_left_as_it_was(tmp_path: Path, source: LedgerHarness) -> None:
    path = _new_node(tmp_path, source)
    peer = Peer(source.chain)
    peer.lie = lambda method, answer: answer[:-1] + bytes([answer[-1] ^ 1]) if method == "snapshot_chunk" else answer
    with pytest.raises(SyncError):
        restore(peer, "main", path)
    _unchanged(path)


def test_an_unproven_validator_set_is_refused(tmp_path: Path, source: LedgerHarness) -> None:
    path = _new_node(tmp_path, source)
    peer = Peer(source.chain)
    lone = ValidatorSet(source.chain.validators().validators[:1])

    def lie(method: str, answer: Any) -> Any:
        return {**answer, "value": to_cbor(lone)} if method == "state" else answer

    peer.lie = lie
    with pytest.raises(ProofError):
        restore(peer, "main", path)
    _unchanged(path)


def test_a_forged_header_is_refused(tmp_path: Path, source: LedgerHarness) -> None:
    path = _new_node(tmp_path, source)
    peer = Peer(source.chain)

    def lie(method: str, answer: Any) -> Any:
        if method != "headers":
            return answer
        from chain.codec.schema import from_cbor
        from chain.ledger.block import BlockHeader
        header = from_cbor(BlockHeader, answer[0][0])
        return [[replace(header, timestamp_ms=header.timestamp_ms + 1).encode(), answer[0][1]], *answer[1:]]

    peer.lie = lie
    with pytest.raises(ProofError, match="certificate"):
        restore(peer, "main", path)
    _unchanged(path)


def test_a_used_ledger_is_not_restored(tmp_path: Path, source: LedgerHarness) -> None:
    path = tmp_path / "ledger"
    kv = LevelDBKV(str(path))
    h = LedgerHarness(source.net, ChainStore.create(kv, source.net.genesis, [v.key for v in source.net.validators]))
    h.run([RegisterDataAccount("acct", ())])
    kv.close()
    with pytest.raises(BootstrapError, match="height 1"):
        restore(None, "main", path)
