"""The memoised shortcuts of block execution give exactly what recomputing would, rollbacks included."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chain.codec import encode
from chain.codec.schema import to_cbor
from chain.ledger.errors import ResultCode
from chain.ledger.operations import ConfigureRole, RegisterDataAccount, WriteKV
from chain.ledger.permissions import LedgerPermission, TxPermission
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction, _endorsements_size

WRITE_ANY = int(LedgerPermission.WRITE_ANY_DATA_ACCOUNT)
DIRECT = int(TxPermission.DIRECT_OPERATION)


def test_role_changes_in_a_block_reach_later_transactions_and_rolled_back_ones_do_not(ledger) -> None:  # type: ignore[no-untyped-def]
    ledger.run([ConfigureRole("WRITER", WRITE_ANY, DIRECT), RegisterDataAccount("acct", ())])
    writer = ledger.register("writer", ("WRITER",))
    assert ledger.run([WriteKV("acct", "warm", b"", None)], writer)[0].success  # the writer's masks are memoised now
    revoke_then_fail = ledger.tx([ConfigureRole("WRITER", 0, DIRECT), WriteKV("acct", "x", b"", 5)])
    allowed = ledger.tx([WriteKV("acct", "a", b"", None)], writer)
    revoke = ledger.tx([ConfigureRole("WRITER", 0, DIRECT)])
    refused = ledger.tx([WriteKV("acct", "b", b"", None)], writer)
    proposal = ledger.block(revoke_then_fail, allowed, revoke, refused)
    codes = {r.tx_hash: r.code for r in proposal.receipts}
    assert codes == {revoke_then_fail.hash: ResultCode.VERSION_CONFLICT, allowed.hash: ResultCode.SUCCESS,
                     revoke.hash: ResultCode.SUCCESS}
    assert [(tx.hash, r.result) for tx, r in proposal.rejected] == [(refused.hash, ResultCode.PERMISSION_DENIED)]


def test_a_decoded_transaction_has_the_hash_it_was_signed_with(ledger) -> None:  # type: ignore[no-untyped-def]
    others = [ledger.net.issue("org1", f"endorser{i}") for i in range(3)]
    tx = ledger.tx([WriteKV("acct", "k", b"v" * 300, None)], ledger.admin, *others)
    assert Transaction.decode(ledger.suite, tx.encode(), 1 << 20) == tx


@given(st.lists(st.tuples(st.binary(max_size=300), st.binary(max_size=300)), max_size=30))
def test_endorsements_are_measured_as_they_encode(pairs: list[tuple[bytes, bytes]]) -> None:
    items = [list(pair) for pair in pairs]
    assert _endorsements_size(items) == len(encode(items))


def test_other_shapes_are_not_measured() -> None:
    assert _endorsements_size([[b"k", "s"]]) is None
    assert _endorsements_size([[b"k"]]) is None
    assert _endorsements_size(b"") is None


def test_a_receipt_is_encoded_once_and_as_its_schema_says() -> None:
    receipt = Receipt(b"\x01" * 32, 7, 3, 0, "", None, b"")
    first = receipt.encode()
    assert first == to_cbor(receipt) and receipt.encode() is first
    assert receipt == Receipt(b"\x01" * 32, 7, 3, 0, "", None, b"")
