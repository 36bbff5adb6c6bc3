"""The on-disk CA store: round trip, duplicates, revocation bookkeeping, keys kept encrypted."""
from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chain.ca import CAStore, Certificate, CertificateVerificationError, RevocationReason
from chain.ca.errors import (
    AlreadyRevokedError,
    CAError,
    CAKeyError,
    DuplicateCertificateError,
    OrganisationExistsError,
    StoreExistsError,
    StoreNotFoundError,
    UnknownCertificateError,
    UnknownOrganisationError,
)
from chain.ca.store import parse_serial
from chain.crypto import CryptoSuite
from chain.crypto.keystore import load_key

from .pki import FAST_SCRYPT_N

ROOT_PW = b"root-pw"
ORG_PW = b"org1-pw"
KEY_PW = b"leaf-pw"


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def store(tmp_path: Path, suite: CryptoSuite) -> CAStore:
    made = CAStore.init(tmp_path / "ca", suite=suite, consortium="Demo", password=ROOT_PW, scrypt_n=FAST_SCRYPT_N)
    made.add_organisation("org1", root_password=ROOT_PW, org_password=ORG_PW)
    return made


def test_init_writes_the_documented_layout(store: CAStore) -> None:
    d = store.directory
    for rel in ("store.json", "index.json", "root/ca.pem", "root/ca.key", "root/crl.pem",
                "orgs/org1/ca.pem", "orgs/org1/ca.key", "orgs/org1/crl.pem"):
        assert (d / rel).is_file(), rel
    meta = json.loads((d / "store.json").read_text())
    assert meta["suite"] == store.suite.name and meta["consortium"] == "Demo"
    assert not list(d.rglob(".*.tmp"))


def test_private_keys_are_encrypted_and_private(store: CAStore) -> None:
    for key_file in (store.directory / "root/ca.key", store.directory / "orgs/org1/ca.key"):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        text = key_file.read_text()
        assert "chain-keystore" in text and "PRIVATE KEY" not in text
    assert load_key(store.directory / "orgs/org1/ca.key", ORG_PW).public_key() == store.intermediate("org1").public_key


def test_reopened_store_returns_the_same_certificates(store: CAStore) -> None:
    again = CAStore.open(store.directory)
    assert again.suite is store.suite and again.consortium == "Demo"
    assert again.root == store.root and again.intermediate("org1") == store.intermediate("org1")
    assert again.organisations() == ["org1"]
    assert again.root.suite is store.suite


def test_issue_generates_an_encrypted_key_and_indexes_the_leaf(store: CAStore) -> None:
    record = store.issue("org1", "node", "peer0", ca_password=ORG_PW, key_password=KEY_PW,
                         dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    assert (record.organisation, record.role, record.common_name, record.status) == ("org1", "node", "peer0", "valid")
    cert = Certificate.parse(store.path(record.cert_file).read_bytes())
    assert cert.serial == record.serial and cert.fingerprint.hex() == record.fingerprint
    assert record.key_file is not None
    key = load_key(store.path(record.key_file), KEY_PW)
    assert key.public_key() == cert.public_key
    assert store.record(record.serial) == record and store.certificate(record.serial) == cert
    assert store.verify(cert, now(), "node").organisation == "org1"


def test_issue_certifies_a_given_public_key_without_storing_a_key(store: CAStore) -> None:
    pair = store.suite.generate_keypair()
    record = store.issue("org1", "user", "alice", ca_password=ORG_PW, public_key=pair.public)
    assert record.key_file is None
    assert store.certificate(record.serial).public_key == pair.public


def test_issue_refuses_a_key_of_the_other_suite(store: CAStore, other_suite: CryptoSuite) -> None:
    with pytest.raises(CAError) as info:
        store.issue("org1", "user", "alice", ca_password=ORG_PW, public_key=other_suite.generate_keypair().public)
    assert info.value.code == "suite_mismatch"


def test_issue_needs_a_key_or_a_key_password(store: CAStore) -> None:
    with pytest.raises(CAError) as info:
        store.issue("org1", "user", "alice", ca_password=ORG_PW)
    assert info.value.code == "missing_key"


def test_duplicate_organisation_is_refused(store: CAStore) -> None:
    with pytest.raises(OrganisationExistsError):
        store.add_organisation("org1", root_password=ROOT_PW)
    with pytest.raises(OrganisationExistsError):
        store.add_organisation("ORG1", root_password=ROOT_PW)


def test_duplicate_common_name_and_role_is_refused_until_revoked(store: CAStore) -> None:
    first = store.issue("org1", "device", "sensor-1", ca_password=ORG_PW, key_password=KEY_PW)
    with pytest.raises(DuplicateCertificateError) as info:
        store.issue("org1", "device", "sensor-1", ca_password=ORG_PW, key_password=KEY_PW)
    assert first.serial_hex in str(info.value)
    store.issue("org1", "user", "sensor-1", ca_password=ORG_PW, key_password=KEY_PW)  # another role is fine
    store.revoke(first.serial, ca_password=ORG_PW, reason=RevocationReason.SUPERSEDED)
    second = store.issue("org1", "device", "sensor-1", ca_password=ORG_PW, key_password=KEY_PW)
    assert second.serial != first.serial


def test_revoke_updates_index_and_reissues_the_issuers_crl(store: CAStore) -> None:
    record = store.issue("org1", "gateway", "gw", ca_password=ORG_PW, key_password=KEY_PW)
    before = store.crl("org1")
    crl = store.revoke(record.serial, ca_password=ORG_PW, reason="keyCompromise")
    assert crl == store.crl("org1")
    assert crl.number == (before.number or 0) + 1
    entry = crl.lookup(record.serial)
    assert entry is not None and entry.reason is RevocationReason.KEY_COMPROMISE
    updated = store.record(record.serial)
    assert updated.status == "revoked" and updated.reason == "keyCompromise" and updated.revoked_at == entry.revoked_at
    with pytest.raises(CertificateVerificationError) as info:
        store.verify(store.certificate(record.serial), now() + timedelta(seconds=1))
    assert info.value.reason == "revoked"
    assert store.crl("root").entries == ()


def test_revoking_an_organisation_ca_goes_to_the_root_crl(store: CAStore) -> None:
    leaf = store.issue("org1", "admin", "boss", ca_password=ORG_PW, key_password=KEY_PW)
    org_serial = store.intermediate("org1").serial
    store.revoke(org_serial, ca_password=ROOT_PW, reason=RevocationReason.CESSATION_OF_OPERATION)
    assert store.crl("root").lookup(org_serial) is not None
    with pytest.raises(CertificateVerificationError) as info:
        store.verify(store.certificate(leaf.serial), now() + timedelta(seconds=1))
    assert info.value.reason == "revoked"


def test_revoke_twice_is_refused(store: CAStore) -> None:
    record = store.issue("org1", "user", "bob", ca_password=ORG_PW, key_password=KEY_PW)
    store.revoke(record.serial, ca_password=ORG_PW)
    with pytest.raises(AlreadyRevokedError):
        store.revoke(record.serial, ca_password=ORG_PW)


def test_the_root_cannot_be_revoked(store: CAStore) -> None:
    with pytest.raises(CAError) as info:
        store.revoke(store.root.serial, ca_password=ROOT_PW)
    assert info.value.code == "cannot_revoke_root"


def test_wrong_password_changes_nothing(store: CAStore) -> None:
    record = store.issue("org1", "user", "carol", ca_password=ORG_PW, key_password=KEY_PW)
    index_before = (store.directory / "index.json").read_bytes()
    crl_before = (store.directory / "orgs/org1/crl.pem").read_bytes()
    with pytest.raises(CAKeyError) as info:
        store.revoke(record.serial, ca_password=b"wrong")
    assert info.value.code == "keystore_wrong_password" and "org1" in str(info.value)
    with pytest.raises(CAKeyError):
        store.issue("org1", "user", "dave", ca_password=ROOT_PW, key_password=KEY_PW)  # root's password is not org1's
    assert (store.directory / "index.json").read_bytes() == index_before
    assert (store.directory / "orgs/org1/crl.pem").read_bytes() == crl_before


def test_org_key_defaults_to_the_root_password(store: CAStore) -> None:
    store.add_organisation("org2", root_password=ROOT_PW)
    assert store.issue("org2", "user", "erin", ca_password=ROOT_PW, key_password=KEY_PW).organisation == "org2"


def test_unknown_organisation_and_serial(store: CAStore) -> None:
    with pytest.raises(UnknownOrganisationError):
        store.issue("org9", "user", "x", ca_password=ORG_PW, key_password=KEY_PW)
    with pytest.raises(UnknownOrganisationError):
        store.crl("org9")
    with pytest.raises(UnknownCertificateError):
        store.revoke(12345, ca_password=ORG_PW)


def test_update_crl_bumps_the_number_and_keeps_the_entries(store: CAStore) -> None:
    record = store.issue("org1", "user", "frank", ca_password=ORG_PW, key_password=KEY_PW)
    revoked = store.revoke(record.serial, ca_password=ORG_PW)
    later = now() + timedelta(days=1)
    fresh = store.update_crl("org1", ca_password=ORG_PW, now=later)
    assert fresh.number == (revoked.number or 0) + 1 and fresh.entries == revoked.entries
    assert fresh.this_update > revoked.this_update


def test_records_list_root_then_cas_then_leaves(store: CAStore) -> None:
    store.issue("org1", "user", "gina", ca_password=ORG_PW, key_password=KEY_PW)
    roles = [r.role for r in store.records()]
    assert roles == ["root", "ca", "user"]
    assert [r.issuer for r in store.records()] == ["root", "root", "org1"]


def test_init_refuses_an_existing_store_or_a_non_empty_directory(store: CAStore, tmp_path: Path) -> None:
    with pytest.raises(StoreExistsError):
        CAStore.init(store.directory, suite=store.suite, consortium="X", password=ROOT_PW, scrypt_n=FAST_SCRYPT_N)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("hi")
    with pytest.raises(StoreExistsError):
        CAStore.init(busy, suite=store.suite, consortium="X", password=ROOT_PW, scrypt_n=FAST_SCRYPT_N)


def test_open_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError) as info:
        CAStore.open(tmp_path / "nowhere")
    assert "chain ca init" in str(info.value)


@pytest.mark.parametrize("text,value", [("0x1f", 31), ("1F", 31), ("00:1f", 31), (f"{2**127:032x}", 2**127)])
def test_serials_parse_from_hex_text(text: str, value: int) -> None:
    assert parse_serial(text) == value


@pytest.mark.parametrize("text", ["xyz", "0", ""])
def test_bad_serial_text_is_refused(text: str) -> None:
    with pytest.raises(UnknownCertificateError):
        parse_serial(text)
