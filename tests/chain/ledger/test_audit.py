"""`chain ledger verify` finds every altered byte and says where it is."""
from __future__ import annotations

import pytest

from chain.ledger import chain_store as cs
from chain.ledger.audit import audit, describe_state_key
from chain.ledger import namespaces as ns
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.ledger.state_store import LATEST, TREE, VERSIONS
from chain.storage.memory import MemoryKV


@pytest.fixture
def busy(ledger):  # type: ignore[no-untyped-def]
    ledger.run([RegisterDataAccount("acct", ())])
    for i in range(3):
        ledger.block(*(ledger.tx([WriteKV("acct", f"k{i}-{j}", b"value %d" % j, None)]) for j in range(4)))
    ledger.run([WriteKV("acct", "k0-0", b"changed", None)])
    return ledger


def test_untouched_ledger_verifies(busy) -> None:  # type: ignore[no-untyped-def]
    report = audit(busy.chain.kv, MemoryKV())
    assert report.ok, (report.location, report.problem)
    assert report.blocks_checked == busy.chain.height + 1 and report.transactions_checked == 15


def _tamper(kv, key: bytes, position: int = -1) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(kv.get(key))
    raw[position] ^= 0x01
    kv.put(key, bytes(raw))


@pytest.mark.parametrize(
    "pick,expected",
    [
        (lambda kv: cs.HEADER + (3).to_bytes(8, "big"), "block"),
        (lambda kv: cs.BODY + (2).to_bytes(8, "big"), "block 2"),
        (lambda kv: cs.RECEIPTS + (4).to_bytes(8, "big"), "block 4 receipts"),
        (lambda kv: cs.CERTIFICATE + (1).to_bytes(8, "big"), "block 1"),
        (lambda kv: LATEST + ns.data_entry_key("acct", "k1-2"), "state value data_entry:acct/k1-2 (latest)"),
        (lambda kv: next(k for k, _ in kv.iterate(VERSIONS)), "state value"),
        (lambda kv: next(k for k, _ in kv.iterate(TREE + b"n")), "state tree node"),
    ],
    ids=["header", "transaction", "receipt", "certificate", "latest-value", "history", "tree-node"],
)
def test_one_altered_byte_is_found_with_its_location(busy, pick, expected: str) -> None:  # type: ignore[no-untyped-def]
    kv = busy.chain.kv
    _tamper(kv, pick(kv))
    report = audit(kv, MemoryKV())
    assert not report.ok
    assert report.location.startswith(expected), (report.location, report.problem)


def test_every_byte_of_a_transaction_is_covered(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    classic_ledger.run([RegisterDataAccount("acct", ())])
    key = cs.BODY + (1).to_bytes(8, "big")
    kv = classic_ledger.chain.kv
    original = kv.get(key)
    for position in range(0, len(original), 7):
        raw = bytearray(original)
        raw[position] ^= 0x40
        kv.put(key, bytes(raw))
        report = audit(kv, MemoryKV())
        assert not report.ok and report.location.startswith("block 1"), position
    kv.put(key, original)
    assert audit(kv, MemoryKV()).ok


def test_deleted_and_extra_records_are_reported(busy) -> None:  # type: ignore[no-untyped-def]
    kv = busy.chain.kv
    key = LATEST + ns.data_entry_key("acct", "k2-3")
    kv.delete(key)
    report = audit(kv, MemoryKV())
    assert report.location == "state value data_entry:acct/k2-3 (latest)" and report.problem == "is missing"
    kv.put(key, busy.chain.state.get_at(ns.data_entry_key("acct", "k2-3"), busy.chain.height))
    kv.put(LATEST + ns.data_entry_key("acct", "ghost"), b"boo")
    report = audit(kv, MemoryKV())
    assert report.problem == "should not exist" and "ghost" in report.location


def test_state_keys_are_described_for_humans() -> None:
    assert describe_state_key(ns.data_entry_key("acct", "sku/1")) == "data_entry:acct/sku/1"
    assert describe_state_key(ns.settings_key()) == "settings"
