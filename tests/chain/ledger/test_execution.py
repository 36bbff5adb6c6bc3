"""Execution: success, recorded failures with rollback, and rejections that never enter a block."""
from __future__ import annotations

import os

from chain.codec import encode
from chain.contracts import decode_value
from chain.ledger import namespaces as ns
from chain.ledger.errors import ResultCode
from chain.ledger.model import EntityState
from chain.ledger.operations import (
    InvokeContract, DeployContract, PublishEvent, RegisterDataAccount, RegisterEventAccount, SetUserState, WriteKV,
)
from chain.ledger.transaction import Transaction
from tests.chain.ledger.contract_code import COUNTER, ORG1_ONLY


def test_successful_write_is_readable_with_its_version(ledger) -> None:  # type: ignore[no-untyped-def]
    receipt, rejection = ledger.run([RegisterDataAccount("acct", ()), WriteKV("acct", "k", b"v1", -1)])
    assert rejection is None and receipt.success
    ledger.run([WriteKV("acct", "k", b"v2", 0)])
    from chain.codec.schema import from_cbor
    from chain.ledger.model import DataEntry

    entry = from_cbor(DataEntry, ledger.chain.state.get(ns.data_entry_key("acct", "k")))
    assert entry.value == b"v2" and entry.version == 1
    history = ledger.chain.state.history(ns.data_entry_key("acct", "k"))
    assert [h for h, _ in history] == [1, 2]
    old = from_cbor(DataEntry, ledger.chain.state.get_at(ns.data_entry_key("acct", "k"), 1))
    assert old.value == b"v1"


def test_failed_transaction_is_recorded_and_all_its_writes_roll_back(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([RegisterDataAccount("acct", ())])
    receipt, rejection = ledger.run([WriteKV("acct", "a", b"1", -1), WriteKV("acct", "b", b"2", 7)])
    assert rejection is None
    assert receipt.code == ResultCode.VERSION_CONFLICT and receipt.failed_operation == 1
    assert ledger.chain.state.get(ns.data_entry_key("acct", "a")) is None
    assert ledger.chain.receipt(receipt.tx_hash) == receipt


def test_duplicate_never_executes_twice_and_the_original_receipt_stays(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([RegisterDataAccount("acct", ())])
    tx = ledger.tx([WriteKV("acct", "k", b"once", None)])
    first = ledger.block(tx)
    assert first.receipts[0].success
    again = ledger.block(tx)
    assert again.rejected[0][1].result == ResultCode.DUPLICATE and not again.transactions
    both = ledger.block(*(ledger.tx([WriteKV("acct", "z", b"1", None)], nonce=b"n1") for _ in range(2)))
    assert len(both.transactions) == 1 and both.rejected[0][1].result == ResultCode.DUPLICATE
    assert ledger.chain.receipt(tx.hash) == first.receipts[0]


def test_expired_wrong_ledger_and_bad_signature_are_rejected(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([RegisterDataAccount("acct", ())])
    expired = ledger.tx([WriteKV("acct", "k", b"v", None)], ttl=0)
    ledger.block()
    wrong = ledger.tx([WriteKV("acct", "k", b"v", None)], ledger_id=os.urandom(32))
    good = ledger.tx([WriteKV("acct", "k", b"v", None)])
    forged = Transaction(good.content, ((good.endorsements[0].__class__(good.endorsements[0].public_key, ledger.tx(
        [WriteKV("acct", "other", b"v", None)]).endorsements[0].signature)),), good.hash)
    proposal = ledger.block(expired, wrong, forged)
    codes = [r.result for _, r in proposal.rejected]
    assert codes == [ResultCode.EXPIRED, ResultCode.WRONG_LEDGER, ResultCode.BAD_SIGNATURE]
    assert not proposal.transactions


def test_unknown_frozen_and_revoked_signers_are_rejected(ledger) -> None:  # type: ignore[no-untyped-def]
    stranger = ledger.net.issue("org1", "stranger")
    _, rejection = ledger.run([RegisterDataAccount("x", ())], stranger)
    assert rejection.result == ResultCode.UNKNOWN_SIGNER
    alice = ledger.register("alice", ("MEMBER",))
    assert ledger.run([RegisterDataAccount("alice-acct", ())], alice)[0].success
    ledger.run([SetUserState(alice.address, EntityState.FROZEN)])
    _, rejection = ledger.run([RegisterDataAccount("alice-2", ())], alice)
    assert rejection.result == ResultCode.SIGNER_NOT_ACTIVE


def test_revoked_certificate_stops_signatures_from_that_height(ledger) -> None:  # type: ignore[no-untyped-def]
    from chain.ledger.execution.certificates import serial_bytes
    from chain.ledger.operations import RevokeCertificate

    bob = ledger.register("bob", ("MEMBER",))
    issuer_fp = ledger.suite.digest(ledger.net.orgs["org1"].certificate.der)
    assert ledger.run([RevokeCertificate(issuer_fp, serial_bytes(bob.certificate.serial), "keyCompromise")])[0].success
    _, rejection = ledger.run([RegisterDataAccount("bob-acct", ())], bob)
    assert rejection.result == ResultCode.SIGNER_NOT_ACTIVE and "revoked" in str(rejection)


def test_events_get_consecutive_sequence_numbers(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([RegisterEventAccount("alerts")])
    r1, _ = ledger.run([PublishEvent("alerts", "temp", b"a", None), PublishEvent("alerts", "temp", b"b", 1)])
    assert r1.success
    r2, _ = ledger.run([PublishEvent("alerts", "temp", b"c", 0)])
    assert r2.code == ResultCode.SEQUENCE_CONFLICT


def test_contract_invocation_runs_in_the_vm_and_records_the_result(ledger) -> None:  # type: ignore[no-untyped-def]
    assert ledger.run([DeployContract("c1", COUNTER, ORG1_ONLY)])[0].success
    receipt, _ = ledger.run([InvokeContract("c1", "bump", encode([5]))])
    assert receipt.success
    value, gas = decode_value(receipt.result)[0]
    assert value == 5 and gas > 0


def test_invalid_names_fail_with_a_clear_reason(ledger) -> None:  # type: ignore[no-untyped-def]
    receipt, _ = ledger.run([RegisterDataAccount("bad name!", ())])
    assert receipt.code == ResultCode.INVALID_ARGUMENT and "invalid" in receipt.message


def test_block_headers_chain_and_timestamps_increase(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.block()
    ledger.block(advance_s=0)
    h1, h2 = ledger.chain.header(1), ledger.chain.header(2)
    assert h2.previous_hash == h1.hash(ledger.suite) and h2.timestamp_ms > h1.timestamp_ms
    assert h1.previous_hash == ledger.chain.ledger_id


def test_overlay_scan_sees_uncommitted_writes_and_deletes(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    from chain.ledger.execution.overlay import Overlay

    prefix = bytes([ns.Namespace.PARTICIPANT])
    committed = list(classic_ledger.chain.state.scan(prefix))
    assert [k for k, _ in committed] == [ns.participant_key("org1"), ns.participant_key("org2")]
    block = Overlay(classic_ledger.chain.state, cache_base=True)
    tx = block.child()
    tx.put(ns.participant_key("org0"), b"new")
    tx.delete(ns.participant_key("org2"))
    tx.put(ns.role_key("org1"), b"other namespace")
    assert tx.scan(prefix) == [(ns.participant_key("org0"), b"new"), committed[0]]
    assert block.scan(prefix) == committed
    assert Overlay(block).scan(prefix) == committed
