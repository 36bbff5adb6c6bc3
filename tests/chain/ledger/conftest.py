"""Fixtures: a founding consortium per suite and a ledger on the in-memory engine."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import pytest

from chain.crypto import PrivateKey, get_suite
from chain.ledger.block import CommitCertificate
from chain.ledger.chain_store import Candidate, ChainStore, Proposal
from chain.ledger.devnet import Devnet, Member, build_devnet
from chain.ledger.operations import Operation
from chain.ledger.transaction import Transaction, TxContent
from chain.storage.memory import MemoryKV


@dataclass
class LedgerHarness:
    """A ledger plus helpers to sign, build and commit blocks."""

    net: Devnet
    chain: ChainStore
    clock: int = 10

    @property
    def suite(self):  # type: ignore[no-untyped-def]
        return get_suite(self.net.suite_name)

    @property
    def admin(self) -> Member:
        return self.net.admins[0]

    def tx(self, ops: Sequence[Operation], *signers: Member, ttl: int = 10, nonce: bytes | None = None,
           ledger_id: bytes | None = None) -> Transaction:
        content = TxContent(ledger_id or self.chain.ledger_id, nonce or os.urandom(8), self.chain.height + ttl, tuple(ops))
        return Transaction.create(self.suite, content, [s.key for s in (signers or (self.admin,))])

    def candidate(self, tx: Transaction) -> Candidate:
        return Candidate(tx, tx.encode(), tx.signatures_valid())

    def block(self, *txs: Transaction, commit: bool = True, advance_s: int = 1) -> Proposal:
        self.clock += advance_s
        proposal = self.chain.build([self.candidate(t) for t in txs], self.net.time_ms(self.clock), self.net.validators[0].key)
        if commit:
            cert = CommitCertificate.sign(proposal.header.height, proposal.block_hash(self.suite), self.validator_keys)
            self.chain.commit(proposal, cert)
        return proposal

    @property
    def validator_keys(self) -> list[PrivateKey]:
        """Keys of the set that signs the next block: founding validators and nodes issued since, as the ledger says."""
        known = {m.key.public_key().encode(): m.key for m in (*self.net.validators, *self.net.extra.values())}
        return [known[v.public_key] for v in self.chain.validators().validators]

    def run(self, ops: Sequence[Operation], *signers: Member):  # type: ignore[no-untyped-def]
        """Submit one transaction in its own block; return (receipt or None, rejection or None)."""
        tx = self.tx(ops, *signers)
        proposal = self.block(tx)
        if proposal.rejected:
            return None, proposal.rejected[0][1]
        return proposal.receipts[0], None

    def register(self, name: str, roles: tuple[str, ...], org: str = "org1", role: str = "user") -> Member:
        from chain.ledger.operations import RegisterUser
        from chain.ledger.permissions import RolePolicy

        member = self.net.issue(org, name, role)
        receipt, rejection = self.run([RegisterUser(member.certificate.der, roles, RolePolicy.UNION)])
        assert rejection is None and receipt is not None and receipt.success, (receipt, rejection)
        return member


@pytest.fixture(scope="session")
def devnets() -> dict[str, Devnet]:
    """One consortium per suite, built once (key generation and certificates are the slow part)."""
    return {name: build_devnet(name) for name in ("classic", "sm")}


@pytest.fixture(params=["classic", "sm"])
def ledger(request: pytest.FixtureRequest, devnets: dict[str, Devnet]) -> LedgerHarness:
    """A fresh ledger at height 0 in each suite."""
    net = devnets[request.param]
    net.extra.clear()
    chain = ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators])
    return LedgerHarness(net, chain)


@pytest.fixture
def classic_ledger(devnets: dict[str, Devnet]) -> LedgerHarness:
    """A fresh classic ledger (for tests that do not depend on the suite)."""
    net = devnets["classic"]
    return LedgerHarness(net, ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators]))
