"""A block built on its uncommitted predecessor (while that one is certified) is the block built after the commit."""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Callable, Sequence

import pytest

from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import CERTIFICATE, ChainStore, Proposal
from chain.ledger.errors import ResultCode
from chain.ledger.execution.certificates import serial_bytes
from chain.ledger.operations import RegisterDataAccount, RevokeCertificate, UpdateLedgerSettings, WriteKV
from chain.ledger.transaction import Transaction
from chain.storage import LevelDBKV
from chain.storage.memory import MemoryKV
from tests.chain.ledger.conftest import LedgerHarness

Blocks = list[list[Transaction]]


def _certify(h: LedgerHarness, chain: ChainStore, proposal: Proposal) -> CommitCertificate:
    return CommitCertificate.sign(proposal.header.height, proposal.block_hash(h.suite), h.validator_keys)


def _build(h: LedgerHarness, chain: ChainStore, txs: Sequence[Transaction], at: int, on: Proposal | None = None) -> Proposal:
    return chain.build_ordered([h.candidate(t) for t in txs], h.net.time_ms(at), h.net.validators[0].address, on)


def _sequential(h: LedgerHarness, chain: ChainStore, blocks: Blocks) -> list[Proposal]:
    out = []
    for i, txs in enumerate(blocks):
        proposal = _build(h, chain, txs, 100 + i)
        chain.commit(proposal, _certify(h, chain, proposal))
        out.append(proposal)
    return out


def _pipelined(h: LedgerHarness, chain: ChainStore, blocks: Blocks,
               commit_during: Callable[[Callable[[], None], Callable[[], None]], None] | None = None) -> list[Proposal]:
    """Build each block on the one before while that one is not committed yet; commit in order."""
    out: list[Proposal] = []
    pending: Proposal | None = None
    for i, txs in enumerate(blocks):
        built: list[Proposal] = []

        def build(txs: list[Transaction] = txs, at: int = 100 + i, on: Proposal | None = pending) -> None:
            built.append(_build(h, chain, txs, at, on))

        def commit(on: Proposal | None = pending) -> None:
            if on is not None:
                chain.commit(on, _certify(h, chain, on))

        if commit_during is None:
            build()
            commit()
        else:
            commit_during(build, commit)
        pending = built[0]
        out.append(pending)
    assert pending is not None
    chain.commit(pending, _certify(h, chain, pending))
    return out


def _same(a: list[Proposal], b: list[Proposal]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.header == y.header
        assert x.records == y.records
        assert [t.hash for t in x.transactions] == [t.hash for t in y.transactions]
        assert [(t.hash, r.result) for t, r in x.rejected] == [(t.hash, r.result) for t, r in y.rejected]


def _blocks(h: LedgerHarness) -> Blocks:
    """Blocks whose outcomes depend on the block before: new accounts, overwritten keys, a replayed
    transaction, a revoked signer, a smaller block limit."""
    bob = h.register("bob", ("MEMBER",))
    carol = h.register("carol", ("MEMBER",))
    create = h.tx([RegisterDataAccount("acct", ()), WriteKV("acct", "k", b"1", None)])
    issuer = h.suite.digest(h.net.orgs["org1"].certificate.der)
    revoke = h.tx([RevokeCertificate(issuer, serial_bytes(carol.certificate.serial), "keyCompromise")])
    limit = dataclasses.replace(h.chain.settings(), max_block_txs=3)
    shrink = h.tx([UpdateLedgerSettings(limit)])
    return [
        [create, revoke],
        [h.tx([WriteKV("acct", "k", b"2", 1)]), create, h.tx([RegisterDataAccount("carol-acct", ())], carol),
         h.tx([RegisterDataAccount("bob-acct", ())], bob), shrink],
        [h.tx([WriteKV("acct", "k", b"3", 2)]), *(h.tx([WriteKV("acct", f"x{i}", b"x", None)]) for i in range(4))],
        [h.tx([WriteKV("acct", "k", b"4", 3)])],
    ]


def _stored(chain: ChainStore) -> dict[bytes, bytes]:
    """Every record of the store but the commit certificates (signatures by a randomised scheme differ)."""
    return {k: v for k, v in chain.kv.iterate() if not k.startswith(CERTIFICATE)}


def _twin(h: LedgerHarness, kv: MemoryKV | LevelDBKV) -> ChainStore:
    """A second store holding exactly what h's store holds now."""
    kv.apply(dict(h.chain.kv.iterate()), sync=True)
    return ChainStore(kv)


def test_blocks_built_on_uncommitted_predecessors_equal_blocks_built_after_each_commit(ledger: LedgerHarness) -> None:
    blocks = _blocks(ledger)
    twin = _twin(ledger, MemoryKV())
    sequential = _sequential(ledger, ledger.chain, blocks)
    pipelined = _pipelined(ledger, twin, blocks)
    _same(sequential, pipelined)
    assert _stored(ledger.chain) == _stored(twin)
    replayed, refused, limited = pipelined[1].rejected[0], pipelined[1].rejected[1], pipelined[2].rejected[0]
    assert replayed[1].result == ResultCode.DUPLICATE
    assert refused[1].result == ResultCode.SIGNER_NOT_ACTIVE
    assert limited[1].result == ResultCode.LIMIT_EXCEEDED and len(pipelined[2].transactions) == 3
    assert twin.height == ledger.chain.height


def test_the_commit_of_the_predecessor_may_land_while_the_next_block_executes(
        classic_ledger: LedgerHarness, tmp_path: Path) -> None:
    h = classic_ledger
    h.block(h.tx([RegisterDataAccount("acct", ())]))
    blocks = [[h.tx([WriteKV("acct", f"k{i % 7}", b"%d" % i, None)]) for i in range(40 * b, 40 * b + 40)]
              for b in range(12)]
    kv = LevelDBKV(str(tmp_path / "twin"))
    try:
        twin = _twin(h, kv)

        def concurrently(build: Callable[[], None], commit: Callable[[], None]) -> None:
            worker = threading.Thread(target=build)
            worker.start()
            commit()
            worker.join()

        pipelined = _pipelined(h, twin, blocks, concurrently)
        _same(_sequential(h, h.chain, blocks), pipelined)
        assert _stored(h.chain) == _stored(twin)
    finally:
        kv.close()


def test_a_block_cannot_be_built_on_a_proposal_without_its_tree_update(classic_ledger: LedgerHarness) -> None:
    h = classic_ledger
    first = _build(h, h.chain, [h.tx([RegisterDataAccount("acct", ())])], 100)
    with pytest.raises(Exception, match="tree update"):
        _build(h, h.chain, [], 101, dataclasses.replace(first, tree_update=None))


def test_a_proposal_says_whether_it_hands_over_to_another_validator_set(classic_ledger: LedgerHarness) -> None:
    h = classic_ledger
    proposal = _build(h, h.chain, [h.tx([RegisterDataAccount("acct", ())])], 100)
    assert not proposal.changes_validators()
    other = dataclasses.replace(proposal.header, next_validators_hash=bytes(32))
    assert dataclasses.replace(proposal, header=other).changes_validators()

