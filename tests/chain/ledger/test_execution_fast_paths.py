"""The shortcuts of block execution (sparse revocation reads, flat record encoding) decide exactly as the long way."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chain.codec import encode
from chain.codec.errors import EncodeError
from chain.codec.schema import to_cbor, to_value
from chain.ledger import namespaces as ns
from chain.ledger.errors import ResultCode
from chain.ledger.execution.certificates import is_revoked, serial_bytes
from chain.ledger.execution.overlay import Overlay
from chain.ledger.model import DataEntry, EntityState, Participant, RevokedCertificate, Role
from chain.ledger.operations import RegisterDataAccount, RevokeCertificate, SetUserState, WriteKV
from chain.ledger.receipt import Receipt


def _revoke(ledger, member) -> RevokeCertificate:  # type: ignore[no-untyped-def]
    issuer_fp = ledger.suite.digest(ledger.net.orgs["org1"].certificate.der)
    return RevokeCertificate(issuer_fp, serial_bytes(member.certificate.serial), "keyCompromise")


def test_a_revocation_stops_the_signer_later_in_the_same_block(ledger) -> None:  # type: ignore[no-untyped-def]
    bob = ledger.register("bob", ("MEMBER",))
    before = ledger.tx([RegisterDataAccount("bob-1", ())], bob)
    revoke = ledger.tx([_revoke(ledger, bob)])
    after = ledger.tx([RegisterDataAccount("bob-2", ())], bob)
    proposal = ledger.block(before, revoke, after)
    assert [r.tx_hash for r in proposal.receipts] == [before.hash, revoke.hash]
    assert all(r.success for r in proposal.receipts)
    [(tx, rejection)] = proposal.rejected
    assert tx.hash == after.hash and rejection.result == ResultCode.SIGNER_NOT_ACTIVE and "revoked" in str(rejection)


def test_a_rolled_back_revocation_does_not_stop_the_signer(ledger) -> None:  # type: ignore[no-untyped-def]
    bob = ledger.register("bob", ("MEMBER",))
    failed = ledger.tx([_revoke(ledger, bob), WriteKV("no-such-account", "k", b"", None)])
    signed = ledger.tx([RegisterDataAccount("bob-acct", ())], bob)
    proposal = ledger.block(failed, signed)
    assert [(r.tx_hash, r.code) for r in proposal.receipts] == [
        (failed.hash, ResultCode.NOT_FOUND), (signed.hash, ResultCode.SUCCESS)]


def test_other_revocations_of_the_issuer_leave_its_other_certificates_valid(ledger) -> None:  # type: ignore[no-untyped-def]
    bob = ledger.register("bob", ("MEMBER",))
    carol = ledger.register("carol", ("MEMBER",))
    assert ledger.run([_revoke(ledger, carol)])[0].success  # the issuer's revocations are no longer empty
    accepted = ledger.tx([RegisterDataAccount("bob-acct", ())], bob)
    refused = ledger.tx([RegisterDataAccount("carol-acct", ())], carol)
    proposal = ledger.block(accepted, refused)
    assert [r.tx_hash for r in proposal.receipts] == [accepted.hash]
    assert [(tx.hash, r.result) for tx, r in proposal.rejected] == [(refused.hash, ResultCode.SIGNER_NOT_ACTIVE)]


def test_a_frozen_signer_is_refused_later_in_the_same_block(ledger) -> None:  # type: ignore[no-untyped-def]
    alice = ledger.register("alice", ("MEMBER",))
    freeze = ledger.tx([SetUserState(alice.address, EntityState.FROZEN)])
    after = ledger.tx([RegisterDataAccount("alice-acct", ())], alice)
    proposal = ledger.block(freeze, after)
    assert [r.tx_hash for r in proposal.receipts] == [freeze.hash]
    assert [(tx.hash, r.result) for tx, r in proposal.rejected] == [(after.hash, ResultCode.SIGNER_NOT_ACTIVE)]


class _Unscannable:
    """A state reader that can only get."""

    def __init__(self, values: dict[bytes, bytes]) -> None:
        self.values = values

    def get(self, key: bytes) -> bytes | None:
        return self.values.get(key)


def test_sparse_reads_fall_back_to_the_base_when_it_cannot_scan() -> None:
    prefix = ns.revoked_certificates_prefix(b"\x01" * 32)
    key = prefix + serial_bytes(7)
    block = Overlay(_Unscannable({key: b"raw"}), cache_base=True)
    assert block.child().get_sparse(key, prefix) == b"raw"
    assert block.get_sparse(prefix + serial_bytes(8), prefix) is None


def test_sparse_reads_see_the_writes_of_every_layer(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    fingerprint = b"\x02" * 32
    prefix = ns.revoked_certificates_prefix(fingerprint)
    block = Overlay(classic_ledger.chain.state, cache_base=True)
    tx = block.child()
    assert not is_revoked(tx, fingerprint, serial_bytes(1))
    block.put(prefix + serial_bytes(1), to_cbor(RevokedCertificate(fingerprint, serial_bytes(1), "test", 1)))
    tx.put(prefix + serial_bytes(2), b"\x80")
    assert is_revoked(tx, fingerprint, serial_bytes(1))
    assert tx.get_sparse(prefix + serial_bytes(2), prefix) == b"\x80"
    assert block.get_sparse(prefix + serial_bytes(2), prefix) is None


ints = st.integers(min_value=-(2**64) - 2, max_value=2**64 + 2)
texts = st.text(max_size=40) | st.just("\ud800")  # a lone surrogate cannot be encoded


def _same_as_generic(record: object) -> None:
    try:
        expected: bytes | str = encode(to_value(record))
    except EncodeError as exc:
        expected = f"{exc.code}:{exc}"
    try:
        got: bytes | str = to_cbor(record)
    except EncodeError as exc:
        got = f"{exc.code}:{exc}"
    assert got == expected


@given(st.binary(max_size=300), ints, st.binary(max_size=40), ints, st.binary(max_size=40))
def test_flat_records_encode_as_the_generic_path(value: bytes, version: int, writer: bytes, height: int, tx_hash: bytes) -> None:
    _same_as_generic(DataEntry(value, version, writer, height, tx_hash))


@given(st.binary(max_size=40), ints, ints, ints, texts, st.none() | ints, st.binary(max_size=300))
def test_receipts_encode_as_the_generic_path(tx_hash: bytes, height: int, index: int, code: int, message: str,
                                             failed: int | None, result: bytes) -> None:
    _same_as_generic(Receipt(tx_hash, height, index, code, message, failed, result))


def test_values_of_the_wrong_type_fail_as_before() -> None:
    _same_as_generic(Role("r", True, 0))  # a bool is not an int
    _same_as_generic(Role("r", 1, "2"))  # type: ignore[arg-type]
    _same_as_generic(Participant("org", b"der", 2))  # type: ignore[arg-type]  # an int is not an EntityState
    _same_as_generic(Participant("org", b"der", EntityState.FROZEN))
    _same_as_generic(Receipt(b"", 0, 0, 0, "", True, b""))  # type: ignore[arg-type]
    _same_as_generic(DataEntry(b"x" * (5 << 20), 0, b"", 0, b""))  # larger than the codec's default limit
