"""Contracts on the ledger: endorsement policy, deploy, invoke with rollback, events, upgrade, freeze, data accounts."""
from __future__ import annotations

from chain.contracts import decode_value, encode_args
from chain.ledger import namespaces as ns
from chain.ledger.errors import ResultCode
from chain.ledger.execution.contract_host import contract_event_account
from chain.ledger.model import ContractAccount, ContractPolicy, EntityState, Event, TopicHead
from chain.ledger.operations import (
    ApproveContract, ConfigureRole, DeployContract, InvokeContract, RegisterDataAccount, RegisterEventAccount, SetContractState,
    UpgradeContract, WriteKV,
)
from chain.codec import from_cbor
from chain.ledger.permissions import TxPermission
from tests.chain.ledger.contract_code import COUNTER, COUNTER_V2, ORG1_ONLY

BOTH = ContractPolicy(2, ("org1", "org2"))


def _record(h, name: str) -> ContractAccount:  # type: ignore[no-untyped-def]
    return from_cbor(ContractAccount, h.chain.state.get(ns.contract_key(name)))


def _bump(h, by: int, *signers):  # type: ignore[no-untyped-def]
    return h.run([InvokeContract("counter", "bump", encode_args([by]))], *signers)


def test_deploy_without_enough_approvals_fails_and_names_the_missing_ones(ledger) -> None:  # type: ignore[no-untyped-def]
    receipt, _ = ledger.run([DeployContract("counter", COUNTER, BOTH)])
    assert receipt.code == ResultCode.POLICY_NOT_MET
    assert "2 of org1, org2" in receipt.message and "(org1)" in receipt.message
    assert ledger.chain.state.get(ns.contract_key("counter")) is None


def test_deploy_succeeds_once_the_other_participant_approved_the_ir_hash(ledger) -> None:  # type: ignore[no-untyped-def]
    org2 = ledger.net.admins[1]
    code_hash = ledger.suite.digest(COUNTER)
    assert ledger.run([ApproveContract("counter", 0, code_hash)], org2)[0].success
    receipt, _ = ledger.run([DeployContract("counter", COUNTER, BOTH)])
    assert receipt.success, receipt
    record = _record(ledger, "counter")
    assert record.policy == BOTH and record.version == 0 and record.code_hash == code_hash


def test_an_approval_of_other_code_does_not_count(ledger) -> None:  # type: ignore[no-untyped-def]
    org2 = ledger.net.admins[1]
    ledger.run([ApproveContract("counter", 0, ledger.suite.digest(COUNTER_V2))], org2)
    assert ledger.run([DeployContract("counter", COUNTER, BOTH)])[0].code == ResultCode.POLICY_NOT_MET


def test_default_policy_is_a_majority_of_active_participants(ledger) -> None:  # type: ignore[no-untyped-def]
    assert ledger.run([DeployContract("counter", COUNTER)])[0].code == ResultCode.POLICY_NOT_MET
    ledger.run([ApproveContract("counter", 0, ledger.suite.digest(COUNTER))], ledger.net.admins[1])
    assert ledger.run([DeployContract("counter", COUNTER)])[0].success
    assert _record(ledger, "counter").policy == ContractPolicy(2, ("org1", "org2"))


def test_invalid_ir_is_refused_at_deploy(ledger) -> None:  # type: ignore[no-untyped-def]
    receipt, _ = ledger.run([DeployContract("bad", b"(contract (ir 1))\n", ORG1_ONLY)])
    assert receipt.code == ResultCode.CONTRACT_ERROR and "IR is invalid" in receipt.message


def test_invocation_returns_value_and_gas_and_publishes_events(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY)])
    receipt, _ = _bump(ledger, 7)
    [[value, gas]] = decode_value(receipt.result)
    assert value == 7 and gas > 0
    account = contract_event_account("counter")
    head = from_cbor(TopicHead, ledger.chain.state.get(ns.event_topic_key(account, "Bumped")))
    event = from_cbor(Event, ledger.chain.state.get(ns.event_key(account, "Bumped", 0)))
    assert head.next_sequence == 1 and event.tx_hash == receipt.tx_hash
    assert decode_value(event.content)["total"] == 7


def test_a_failing_contract_rolls_back_every_write_of_the_transaction(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY), RegisterDataAccount("notes", ())])
    _bump(ledger, 60)
    receipt, _ = ledger.run([WriteKV("notes", "k", b"v", None), InvokeContract("counter", "bump", encode_args([60]))])
    assert receipt.code == ResultCode.CONTRACT_ERROR and "too many" in receipt.message and "line" in receipt.message
    assert receipt.failed_operation == 1
    assert ledger.chain.state.get(ns.data_entry_key("notes", "k")) is None
    get = ledger.run([InvokeContract("counter", "get", encode_args([str(_origin(ledger))]))])[0]
    assert decode_value(get.result)[0][0] == 60


def _origin(h):  # type: ignore[no-untyped-def]
    from chain.crypto import Address

    return Address.decode(h.admin.address)


def test_running_out_of_gas_is_limit_exceeded(ledger) -> None:  # type: ignore[no-untyped-def]
    from chain.contracts import compile_source

    loop = compile_source("def spin() -> None:\n    while True:\n        pass\n").encode()
    ledger.run([DeployContract("spin", loop, ORG1_ONLY)])
    receipt, _ = ledger.run([InvokeContract("spin", "spin", encode_args([]))])
    assert receipt.code == ResultCode.LIMIT_EXCEEDED and "out of gas" in receipt.message


def test_upgrade_keeps_storage_and_old_versions(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY)])
    _bump(ledger, 3)
    assert ledger.run([UpgradeContract("counter", COUNTER_V2)])[0].success
    assert decode_value(ledger.run([InvokeContract("counter", "version", encode_args([]))])[0].result)[0][0] == 2
    assert _bump(ledger, 1)[0].success and decode_value(_bump(ledger, 1)[0].result)[0][0] == 5
    assert ledger.chain.state.get(ns.contract_code_key("counter", 0)) == COUNTER
    assert ledger.chain.state.get(ns.contract_code_key("counter", 1)) == COUNTER_V2


def test_upgrade_needs_the_policy_again(ledger) -> None:  # type: ignore[no-untyped-def]
    org2 = ledger.net.admins[1]
    ledger.run([ApproveContract("counter", 0, ledger.suite.digest(COUNTER))], org2)
    ledger.run([DeployContract("counter", COUNTER, BOTH)])
    assert ledger.run([UpgradeContract("counter", COUNTER_V2)])[0].code == ResultCode.POLICY_NOT_MET
    assert ledger.run([ApproveContract("counter", 0, ledger.suite.digest(COUNTER_V2))], org2)[0].code == ResultCode.INVALID_ARGUMENT
    ledger.run([ApproveContract("counter", 1, ledger.suite.digest(COUNTER_V2))], org2)
    assert ledger.run([UpgradeContract("counter", COUNTER_V2)])[0].success


def test_frozen_contract_cannot_be_invoked_until_unfrozen(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY)])
    assert ledger.run([SetContractState("counter", EntityState.FROZEN)])[0].success
    assert _bump(ledger, 1)[0].code == ResultCode.INVALID_STATE
    assert ledger.run([SetContractState("counter", EntityState.REVOKED)])[0].code == ResultCode.INVALID_ARGUMENT
    ledger.run([SetContractState("counter", EntityState.NORMAL)])
    assert _bump(ledger, 1)[0].success


def test_contract_writes_data_accounts_with_the_invokers_authority(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY)])
    receipt, _ = ledger.run([InvokeContract("counter", "note", encode_args(["k", b"v"]))])
    assert receipt.code == ResultCode.CONTRACT_ERROR and "does not exist" in receipt.message
    ledger.run([RegisterDataAccount("notes", ())])
    assert ledger.run([InvokeContract("counter", "note", encode_args(["k", b"v"]))])[0].success
    peek = ledger.run([InvokeContract("counter", "peek", encode_args(["k"]))])[0]
    assert decode_value(peek.result)[0][0] == b"v"
    ledger.run([ConfigureRole("CALLER", 0, int(TxPermission.CONTRACT_OPERATION))])
    outsider = ledger.register("outsider", ("CALLER",), org="org2")
    receipt, _ = ledger.run([InvokeContract("counter", "note", encode_args(["k", b"w"]))], outsider)
    assert receipt.code == ResultCode.CONTRACT_ERROR and "no endorser owns" in receipt.message


def test_contract_event_accounts_are_reserved(ledger) -> None:  # type: ignore[no-untyped-def]
    receipt, _ = ledger.run([RegisterEventAccount("contract:counter")])
    assert receipt.code == ResultCode.INVALID_ARGUMENT and "reserved" in receipt.message


def test_a_block_stops_running_contracts_once_its_gas_budget_is_spent(ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from chain.ledger.execution import context

    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY)])
    monkeypatch.setattr(context, "BLOCK_GAS", 1_000)
    txs = [ledger.tx([InvokeContract("counter", "bump", encode_args([1]))]) for _ in range(6)]
    receipts = ledger.block(*txs).receipts
    codes = [r.code for r in receipts]
    assert codes[0] == ResultCode.SUCCESS and codes[-1] == ResultCode.LIMIT_EXCEEDED
    assert "contract gas" in receipts[-1].message
    spent = sum(decode_value(r.result)[0][1] for r in receipts if r.success)
    assert spent <= 1_000
    assert _bump(ledger, 1)[0].success  # the next block has a fresh budget


def test_each_block_lists_the_events_it_published_in_order(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([DeployContract("counter", COUNTER, ORG1_ONLY), RegisterEventAccount("alerts")])
    from chain.ledger.operations import PublishEvent

    receipt, _ = ledger.run([PublishEvent("alerts", "t", b"a", None), InvokeContract("counter", "bump", encode_args([2])),
                             PublishEvent("alerts", "t", b"b", None)])
    events = ledger.chain.events(receipt.height)
    assert [(e.account, e.topic, e.sequence) for e in events] == [
        ("alerts", "t", 0), ("contract:counter", "Bumped", 0), ("alerts", "t", 1)]
    assert all(e.tx_hash == receipt.tx_hash for e in events)
    assert ledger.chain.events(receipt.height - 1) == []
