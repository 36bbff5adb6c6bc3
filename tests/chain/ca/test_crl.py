"""CRLs of both suites: issue, parse back, look up, refuse what is not a CRL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chain.ca import CAError, CertificateAuthority, CertificateFormatError, RevocationList, RevocationReason, RevokedCertificate, issue_crl

from .pki import T0, Pki


def test_crl_round_trips_number_times_and_entries(pki: Pki) -> None:
    org1 = pki.orgs["org1"]
    entries = [
        RevokedCertificate(pki.leaf("node").serial, T0 + timedelta(days=3), RevocationReason.KEY_COMPROMISE),
        RevokedCertificate(pki.leaf("user").serial, T0 + timedelta(days=4), RevocationReason.SUPERSEDED),
        RevokedCertificate(pki.leaf("device").serial, T0 + timedelta(days=5)),
    ]
    crl = pki.crl(org1, *entries, number=7)
    again = RevocationList.parse(crl.pem)
    assert again == crl == RevocationList.parse(crl.der)
    assert crl.suite is pki.suite
    assert crl.number == 7
    assert crl.issuer == org1.certificate.subject and crl.issuer_der == org1.certificate.subject_der
    assert crl.authority_key_id == org1.certificate.key_id
    assert crl.this_update == T0 + timedelta(days=1) and crl.next_update == T0 + timedelta(days=400)
    assert set(crl.entries) == set(entries)
    assert crl.lookup(pki.leaf("user").serial).reason is RevocationReason.SUPERSEDED  # type: ignore[union-attr]
    assert crl.lookup(pki.leaf("admin").serial) is None


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_every_revocation_reason_survives_the_round_trip(pki: Pki, reason: RevocationReason) -> None:
    crl = pki.crl(pki.orgs["org2"], RevokedCertificate(12345, T0, reason))
    assert RevocationList.parse(crl.der).entries == (RevokedCertificate(12345, T0, reason),)


def test_empty_crl_has_no_entries(pki: Pki) -> None:
    crl = pki.crl(pki.root_ca)
    assert crl.entries == () and crl.number == 1 and crl.pem.startswith("-----BEGIN X509 CRL-----")


def test_crl_signature_verifies_only_under_its_issuer(pki: Pki) -> None:
    crl = pki.crl(pki.orgs["org1"])
    assert crl.is_issued_by(pki.org("org1")) and crl.verify_signature(pki.org("org1"))
    assert not crl.is_issued_by(pki.org("org2")) and not crl.verify_signature(pki.org("org2"))


def test_next_update_defaults_to_thirty_days(pki: Pki) -> None:
    crl = issue_crl(pki.orgs["org1"], [], number=1, this_update=T0)
    assert crl.next_update == T0 + timedelta(days=30)


def test_next_update_must_follow_this_update(pki: Pki) -> None:
    with pytest.raises(CAError):
        issue_crl(pki.orgs["org1"], [], number=1, this_update=T0, next_update=T0)


def test_a_leaf_cannot_sign_crls(pki: Pki) -> None:
    leaf_ca = CertificateAuthority(pki.leaf("admin"), pki.leaf_keys["admin"].private)
    with pytest.raises(CAError) as info:
        issue_crl(leaf_ca, [], number=1, this_update=T0)
    assert info.value.code == "not_a_ca"


@pytest.mark.parametrize("text,reason", [
    ("keyCompromise", RevocationReason.KEY_COMPROMISE),
    ("key_compromise", RevocationReason.KEY_COMPROMISE),
    ("cessation-of-operation", RevocationReason.CESSATION_OF_OPERATION),
    ("cACompromise", RevocationReason.CA_COMPROMISE),
    ("4", RevocationReason.SUPERSEDED),
])
def test_revocation_reasons_parse_from_rfc_and_python_spellings(text: str, reason: RevocationReason) -> None:
    assert RevocationReason.parse(text) is reason


def test_unknown_revocation_reason_is_refused() -> None:
    with pytest.raises(CAError) as info:
        RevocationReason.parse("bored")
    assert info.value.code == "invalid_reason"


def test_a_certificate_is_not_a_crl(pki: Pki) -> None:
    with pytest.raises(CertificateFormatError):
        RevocationList.parse(pki.root.pem)
    with pytest.raises(CertificateFormatError):
        RevocationList.parse(pki.root.der)
