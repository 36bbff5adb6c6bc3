"""Validator membership: changes approved by a quorum of participants take effect at a fixed later height."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto import Address
from chain.ledger import namespaces as ns
from chain.ledger.block import CommitCertificate, ValidatorSet
from chain.ledger.block_sync import BlockSync, serve_blocks, sync_genesis
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import Devnet, Member, build_devnet
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.execution.handlers.membership import apply_due_changes, quorum
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import load, store
from chain.ledger.model import EntityState, Membership, MembershipChange, NodeRecord
from chain.ledger.operations import (
    ApproveNodeChange, Operation, RegisterDataAccount, RegisterNode, SetNodeState, SetParticipantState, UpdateLedgerSettings,
)
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction
from chain.storage.memory import MemoryKV
from tests.chain.ledger.conftest import LedgerHarness
from tests.strategies import membership_scenarios

ORGS = ("org1", "org2", "org3", "org4")


@pytest.fixture(scope="module")
def consortium() -> Devnet:
    """Four participants, one validator and one admin (every permission) each."""
    return build_devnet("classic", organisations=ORGS, validators=4)


@pytest.fixture(scope="module")
def newcomers(consortium: Devnet) -> list[Member]:
    """Node certificates not yet on the ledger."""
    return [consortium.issue(org, f"node-{org}-new", "node") for org in ("org1", "org2")]


@pytest.fixture
def h(consortium: Devnet) -> LedgerHarness:
    """A fresh four-participant ledger at height 0."""
    return LedgerHarness(consortium, ChainStore.create(MemoryKV(), consortium.genesis, [v.key for v in consortium.validators]))


def ok(h: LedgerHarness, ops: list[Operation], *signers: Member) -> Receipt:
    """Run one transaction in its own block and expect success."""
    receipt, rejection = h.run(ops, *signers)
    assert rejection is None and receipt is not None and receipt.success, (receipt, rejection)
    return receipt


def failed(h: LedgerHarness, ops: list[Operation], code: ResultCode, *signers: Member) -> Receipt:
    """Run one transaction in its own block and expect it recorded as failed with `code`."""
    receipt, rejection = h.run(ops, *signers)
    assert rejection is None and receipt is not None and receipt.code == code, (receipt, rejection)
    return receipt


def register(node: Member) -> RegisterNode:
    return RegisterNode(node.certificate.der, node.key.public_key().encode())


def addresses(validators: ValidatorSet) -> list[bytes]:
    return [v.address for v in validators.validators]


def node_state(h: LedgerHarness, address: bytes) -> EntityState:
    record = load(Overlay(h.chain.state), ns.node_key(address), NodeRecord)
    assert record is not None
    return record.state


def test_quorum_is_more_than_two_thirds_of_the_participants() -> None:
    assert [quorum(p) for p in range(1, 8)] == [1, 2, 3, 3, 4, 5, 5]


def test_the_genesis_set_is_in_force_from_height_0(h: LedgerHarness) -> None:
    assert h.chain.validators_since() == 0 and h.chain.membership_changes() == () and not h.chain.change_due()
    assert addresses(h.chain.validators()) == sorted(v.address for v in h.net.validators)
    assert all(node_state(h, v.address) is EntityState.NORMAL for v in h.net.validators)


def test_a_join_needs_three_of_four_participants_and_takes_effect_after_the_delay(
    h: LedgerHarness, newcomers: list[Member]
) -> None:
    node, (a1, a2, a3, _) = newcomers[0], h.net.admins
    before = h.chain.validators()
    ok(h, [register(node)], a1)  # block 1
    assert h.chain.membership_changes() == (MembershipChange(node.address, EntityState.NORMAL, ("org1",), None),)
    assert node_state(h, node.address) is EntityState.FROZEN
    ok(h, [ApproveNodeChange(node.address)], a2)  # block 2: two of four approvals do nothing
    assert h.chain.membership_changes()[0].approvals == ("org1", "org2")
    assert not h.chain.membership_changes()[0].scheduled and not h.chain.change_due()
    ok(h, [ApproveNodeChange(node.address)], a3)  # block 3: the third schedules it for 3 + 2
    assert h.chain.membership_changes() == (MembershipChange(node.address, EntityState.NORMAL, ("org1", "org2", "org3"), 5),)
    assert h.chain.validators() == before and h.chain.change_due()
    h.block()  # block 4 = H - 1: applied at its end
    after = h.chain.validators()
    assert addresses(after) == sorted(addresses(before) + [node.address])
    assert [h.chain.header(n).validators_hash == before.hash(h.suite) for n in (3, 4)] == [True, True]
    assert h.chain.header(3).next_validators_hash == before.hash(h.suite)
    assert h.chain.header(4).next_validators_hash == after.hash(h.suite)
    assert h.chain.validators_since() == 5 and h.chain.membership_changes() == () and not h.chain.change_due()
    assert node_state(h, node.address) is EntityState.NORMAL
    h.block()  # block 5: the first the new set certifies
    header = h.chain.header(5)
    assert header.validators_hash == header.next_validators_hash == after.hash(h.suite)
    assert h.chain.certificate(5).problems(after, header.hash(h.suite), 5) is None
    assert h.chain.certificate(4).problems(before, h.chain.block_hash(4), 4) is None
    assert {v.public_key for v in h.chain.certificate(5).votes} == after.keys()


def test_a_leave_takes_effect_after_the_delay_and_the_node_then_cannot_sign(h: LedgerHarness) -> None:
    leaving, (a1, a2, a3, _) = h.net.validators[3], h.net.admins
    before = h.chain.validators()
    ok(h, [SetNodeState(leaving.address, EntityState.FROZEN)], a1, a2, a3)  # block 1: three participants in one transaction
    assert h.chain.membership_changes() == (
        MembershipChange(leaving.address, EntityState.FROZEN, ("org1", "org2", "org3"), 3),)
    assert node_state(h, leaving.address) is EntityState.NORMAL and h.chain.validators() == before
    ok(h, [RegisterDataAccount("acct", ())])  # block 2 = H - 1
    after = h.chain.validators()
    assert addresses(after) == sorted(a for a in addresses(before) if a != leaving.address)
    assert node_state(h, leaving.address) is EntityState.FROZEN and h.chain.validators_since() == 3
    assert h.chain.header(2).validators_hash == before.hash(h.suite)
    assert h.chain.header(2).next_validators_hash == after.hash(h.suite)
    proposal = h.block(commit=False)  # block 3
    block_hash = proposal.block_hash(h.suite)
    with pytest.raises(LedgerError, match="non-validator"):
        h.chain.commit(proposal, CommitCertificate.sign(3, block_hash, [v.key for v in h.net.validators]))
    h.chain.commit(proposal, CommitCertificate.sign(3, block_hash, h.validator_keys))
    assert h.chain.header(3).validators_hash == after.hash(h.suite)


def test_each_participant_counts_once_and_only_with_manage_nodes(h: LedgerHarness, newcomers: list[Member]) -> None:
    node, (a1, a2, a3, _) = newcomers[0], h.net.admins
    second_admin = h.register("ops@org1", ("ADMIN",), org="org1")
    member = h.register("member@org2", ("MEMBER",), org="org2")
    ok(h, [register(node)], a1, second_admin, member)
    assert h.chain.membership_changes()[0].approvals == ("org1",)
    ok(h, [ApproveNodeChange(node.address)], a1)  # approving again is a no-op
    ok(h, [ApproveNodeChange(node.address)], second_admin)
    assert h.chain.membership_changes()[0] == MembershipChange(node.address, EntityState.NORMAL, ("org1",), None)
    late = h.tx([ApproveNodeChange(node.address)], h.net.admins[3])  # after the quorum, in the same block
    proposal = h.block(h.tx([ApproveNodeChange(node.address)], a2, a3), late)
    assert all(r.success for r in proposal.receipts)
    assert h.chain.membership_changes() == (
        MembershipChange(node.address, EntityState.NORMAL, ("org1", "org2", "org3"), h.chain.height + 2),)


def test_with_one_active_participant_the_proposal_alone_is_a_quorum(classic_ledger: LedgerHarness) -> None:
    h = classic_ledger  # participants org1 and org2
    node = h.net.issue("org1", "node-solo", "node")
    ok(h, [SetParticipantState("org2", EntityState.FROZEN)])
    ok(h, [register(node)])
    assert h.chain.membership_changes()[0].activation_height == h.chain.height + 2
    h.block()
    assert node.address in addresses(h.chain.validators()) and h.chain.validators_since() == h.chain.height + 1


def test_a_repeated_approval_reevaluates_the_quorum_after_participants_were_frozen(
    h: LedgerHarness, newcomers: list[Member]
) -> None:
    node, (a1, a2, _, _) = newcomers[0], h.net.admins
    ok(h, [register(node)], a1)
    ok(h, [ApproveNodeChange(node.address)], a2)
    ok(h, [SetParticipantState("org3", EntityState.FROZEN), SetParticipantState("org4", EntityState.FROZEN)], a1)
    assert not h.chain.membership_changes()[0].scheduled  # the quorum is evaluated at proposals and approvals
    ok(h, [ApproveNodeChange(node.address)], a1)  # 2 of 2 active participants
    assert h.chain.membership_changes()[0].activation_height == h.chain.height + 2


def test_refusals(h: LedgerHarness, newcomers: list[Member]) -> None:
    node, (a1, a2, a3, _) = newcomers[0], h.net.admins
    v0, v3 = h.net.validators[0], h.net.validators[3]
    member = h.register("member@org2", ("MEMBER",), org="org2")
    for op in (register(node), SetNodeState(v3.address, EntityState.FROZEN), ApproveNodeChange(v3.address)):
        receipt, rejection = h.run([op], member)
        assert receipt is None and rejection is not None and rejection.result is ResultCode.PERMISSION_DENIED
    receipt = failed(h, [ApproveNodeChange(v0.address)], ResultCode.NOT_FOUND)
    assert str(Address.decode(v0.address)) in receipt.message and "no pending membership change" in receipt.message
    ok(h, [register(node)], a1)
    failed(h, [register(node)], ResultCode.ALREADY_EXISTS, a2)
    failed(h, [SetNodeState(node.address, EntityState.REVOKED)], ResultCode.ALREADY_EXISTS)  # pending join
    ok(h, [SetNodeState(v3.address, EntityState.FROZEN)], a1, a2, a3)  # scheduled leave
    assert node_state(h, v3.address) is EntityState.NORMAL
    receipt = failed(h, [SetNodeState(v3.address, EntityState.REVOKED)], ResultCode.ALREADY_EXISTS)
    assert str(Address.decode(v3.address)) in receipt.message
    receipt = failed(h, [UpdateLedgerSettings(replace(h.chain.settings(), validator_change_delay=0))], ResultCode.INVALID_ARGUMENT)
    assert "validator_change_delay" in receipt.message


def test_the_last_validator_cannot_leave(classic_ledger: LedgerHarness) -> None:
    h = classic_ledger
    only = h.net.validators[0]
    receipt = failed(h, [SetNodeState(only.address, EntityState.FROZEN)], ResultCode.INVALID_STATE, *h.net.admins)
    assert "last validator" in receipt.message
    assert h.chain.membership_changes() == ()


def test_the_last_validator_check_counts_every_scheduled_change(h: LedgerHarness) -> None:
    admins, (v0, v1, v2, v3) = h.net.admins, h.net.validators
    three = admins[:3]
    h.block(*(h.tx([SetNodeState(v.address, EntityState.FROZEN)], *three) for v in (v1, v2)))  # both scheduled
    ok(h, [SetNodeState(v3.address, EntityState.FROZEN)], admins[0])  # pending: {v0, v3} would remain
    ok(h, [SetNodeState(v0.address, EntityState.FROZEN)], admins[0])  # pending: {v3} would remain
    ok(h, [ApproveNodeChange(v3.address)], admins[1], admins[2])  # scheduled: {v0} remains
    receipt = failed(h, [ApproveNodeChange(v0.address)], ResultCode.INVALID_STATE, admins[1], admins[2])
    assert "last validator" in receipt.message
    failed(h, [SetNodeState(v0.address, EntityState.REVOKED)], ResultCode.ALREADY_EXISTS)
    h.block()
    assert addresses(h.chain.validators()) == [v0.address]


def test_a_delay_below_one_is_refused_at_genesis(consortium: Devnet) -> None:
    genesis = replace(consortium.genesis, settings=replace(consortium.genesis.settings, validator_change_delay=0))
    with pytest.raises(LedgerError, match="validator_change_delay must be positive"):
        ChainStore.create(MemoryKV(), genesis, [v.key for v in consortium.validators])


def test_with_delay_one_the_scheduling_block_applies_it_even_after_a_long_pause(h: LedgerHarness) -> None:
    ok(h, [UpdateLedgerSettings(replace(h.chain.settings(), validator_change_delay=1))])
    h.block(advance_s=3600)
    leaving = h.net.validators[2]
    ok(h, [SetNodeState(leaving.address, EntityState.REVOKED)], *h.net.admins[:3])  # block 3 schedules for 4 and applies
    assert leaving.address not in addresses(h.chain.validators())
    assert h.chain.header(3).next_validators_hash == h.chain.validators().hash(h.suite)
    assert h.chain.validators_since() == 4 and node_state(h, leaving.address) is EntityState.REVOKED
    failed(h, [SetNodeState(leaving.address, EntityState.NORMAL)], ResultCode.INVALID_STATE)  # revoked for good


def test_an_overdue_change_applies_at_the_end_of_the_first_block_built(h: LedgerHarness) -> None:
    v1, v2 = h.net.validators[1], h.net.validators[2]
    h.block()
    h.block()
    state = Overlay(h.chain.state)
    changes = (MembershipChange(v1.address, EntityState.FROZEN, ORGS[:3], 2), MembershipChange(v2.address, EntityState.FROZEN, ORGS[:3], 9))
    store(state, ns.membership_key(), Membership(0, changes))
    applied = apply_due_changes(state, 3)  # block 3: the change due at 2 is late, the one due at 9 waits
    assert applied == changes[:1]
    assert load(state, ns.membership_key(), Membership) == Membership(4, changes[1:])
    validators = load(state, ns.validators_key(), ValidatorSet)
    assert validators is not None and v1.address not in addresses(validators) and v2.address in addresses(validators)
    assert apply_due_changes(state, 4) == ()


def test_change_due_announces_the_block_that_applies_a_change_and_empty_blocks_apply_it(h: LedgerHarness) -> None:
    ok(h, [UpdateLedgerSettings(replace(h.chain.settings(), validator_change_delay=3))])  # block 1
    leaving = h.net.validators[1]
    ok(h, [SetNodeState(leaving.address, EntityState.FROZEN)], *h.net.admins[:3])  # block 2: takes effect at 5
    assert h.chain.membership_changes()[0].activation_height == 5
    assert not h.chain.change_due()  # block 3 need not be built for it
    h.block()  # block 3
    assert h.chain.change_due()  # block 4 applies it
    proposal = h.chain.build_ordered([], h.net.time_ms(h.clock + 1), h.net.validators[0].address)
    assert proposal.header.height == 4 and proposal.transactions == [] and proposal.rejected == []
    h.chain.commit(proposal, CommitCertificate.sign(4, proposal.block_hash(h.suite), h.validator_keys))
    assert leaving.address not in addresses(h.chain.validators()) and h.chain.validators_since() == 5
    assert not h.chain.change_due()


# -- determinism ---------------------------------------------------------------------


def _operation(kind: str, node: Member, register_node: bool) -> Operation:
    if kind == "register" and register_node:
        return register(node)
    if kind == "approve" or kind == "register":
        return ApproveNodeChange(node.address)
    state = {"freeze": EntityState.FROZEN, "revoke": EntityState.REVOKED, "activate": EntityState.NORMAL}[kind]
    return SetNodeState(node.address, state)


def _check_invariants(h: LedgerHarness, nodes: list[Member]) -> None:
    """A registered node is NORMAL exactly when it is a validator; the set is never empty; records are sorted."""
    members = set(addresses(h.chain.validators()))
    assert members
    for node in nodes:
        record = load(Overlay(h.chain.state), ns.node_key(node.address), NodeRecord)
        if record is not None:
            assert (record.state is EntityState.NORMAL) == (node.address in members)
    changes = h.chain.membership_changes()
    assert [c.address for c in changes] == sorted({c.address for c in changes})
    assert all(list(c.approvals) == sorted(set(c.approvals)) for c in changes)


@settings(max_examples=30, deadline=None)
@given(steps=membership_scenarios(nodes=6, endorsers=4), delay=st.integers(min_value=1, max_value=3))
def test_random_membership_scenarios_give_identical_state_on_independent_stores(
    consortium: Devnet, newcomers: list[Member], steps: list[tuple[str, int, tuple[int, ...]]], delay: int
) -> None:
    net = consortium
    nodes = list(net.validators) + newcomers
    a, b = (LedgerHarness(net, ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators])) for _ in range(2))
    settings_op = UpdateLedgerSettings(replace(a.chain.settings(), validator_change_delay=delay))
    steps = [("settings", 0, (0,))] + steps
    for index, (kind, target, endorsers) in enumerate(steps):
        signers = [net.admins[i] for i in endorsers]
        if kind == "empty":
            a.block(), b.block()
        else:
            op = settings_op if kind == "settings" else _operation(kind, nodes[target], target >= len(net.validators))
            tx = a.tx([op], *signers, nonce=b"step-%d" % index)
            reordered = Transaction.create(a.suite, tx.content, [s.key for s in reversed(signers)])  # same content, endorsers reversed
            receipts = a.block(tx).receipts, b.block(reordered).receipts
            assert receipts[0] == receipts[1]
        assert a.chain.header(a.chain.height) == b.chain.header(b.chain.height)
        assert a.chain.membership_changes() == b.chain.membership_changes()
        assert a.chain.validators_since() == b.chain.validators_since()
        _check_invariants(a, nodes)
    follower = sync_genesis(MemoryKV(), serve_blocks(a.chain, 0, 0)[0], a.chain.ledger_id, a.suite.name)
    BlockSync(follower).apply_all(serve_blocks(a.chain, 1, a.chain.height))
    assert follower.state.root(follower.height) == a.chain.state.root(a.chain.height) == b.chain.state.root(b.chain.height)
