"""verify_chain: the happy path and every failure reason, for both suites."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from chain.ca import (
    CAError,
    Certificate,
    CertificateAuthority,
    CertificateProfile,
    CertificateVerificationError,
    RevocationReason,
    RevokedCertificate,
    issue_leaf,
    sign_certificate,
    verify_chain,
)
from chain.ca.issue import CA_KEY_USAGE
from chain.ca.names import DistinguishedName
from chain.crypto import CLASSIC, CryptoSuite
from chain.crypto.p256 import HALF_N

from .pki import AT, T0, Pki, make_pki


def reason_of(pki: Pki, leaf: Certificate | bytes, *, intermediates: list | None = None, roots: list | None = None,
              crls: tuple = (), at: datetime = AT, role: str | None = None) -> str:
    with pytest.raises(CertificateVerificationError) as info:
        verify_chain(
            leaf,
            intermediates if intermediates is not None else [pki.org("org1"), pki.org("org2")],
            roots if roots is not None else [pki.root],
            crls,
            at,
            role,
        )
    assert info.value.code == info.value.reason
    return info.value.reason


def _flip(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) == 1 and len(old) == len(new)
    return der.replace(old, new)


def test_verification_passes_with_every_crl_present(pki: Pki) -> None:
    crls = [pki.crl(pki.root_ca), pki.crl(pki.orgs["org1"]), pki.crl(pki.orgs["org2"])]
    result = verify_chain(pki.leaf("node"), [pki.org("org1")], [pki.root], crls, AT, "node")
    assert result.leaf == pki.leaf("node") and result.root == pki.root and result.at == AT


def test_certificates_and_crls_may_be_given_as_der_or_pem(pki: Pki) -> None:
    crl = pki.crl(pki.orgs["org1"])
    result = verify_chain(pki.leaf().pem, [pki.org().der], [pki.root.pem], [crl.der], AT)
    assert result.leaf == pki.leaf()


def test_boundaries_of_the_validity_period_are_inclusive(pki: Pki) -> None:
    leaf = pki.leaf("device")
    verify_chain(leaf, [pki.org()], [pki.root], [], leaf.not_before)
    verify_chain(leaf, [pki.org()], [pki.root], [], leaf.not_after)


def test_expired_leaf(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf(), at=pki.leaf().not_after + timedelta(seconds=1)) == "expired"


def test_expired_intermediate_fails_the_leaf(pki: Pki) -> None:
    at = pki.org().not_after + timedelta(days=1)
    leaf, _ = pki.issue("org1", "late", "user", not_before=pki.org().not_before, not_after=pki.org().not_after)
    assert reason_of(pki, leaf, at=at) == "expired"


def test_not_yet_valid(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf(), at=T0 - timedelta(seconds=1)) == "not_yet_valid"


def test_revoked_leaf_names_serial_and_time(pki: Pki) -> None:
    leaf = pki.leaf("user")
    revoked_at = T0 + timedelta(days=100)
    crl = pki.crl(pki.orgs["org1"], RevokedCertificate(leaf.serial, revoked_at, RevocationReason.KEY_COMPROMISE))
    with pytest.raises(CertificateVerificationError) as info:
        verify_chain(leaf, [pki.org()], [pki.root], [crl], AT)
    assert info.value.reason == "revoked"
    message = str(info.value)
    assert f"{leaf.serial:x}" in message and revoked_at.isoformat() in message and "keyCompromise" in message


def test_revocation_after_the_verification_time_does_not_count(pki: Pki) -> None:
    leaf = pki.leaf("user")
    crl = pki.crl(pki.orgs["org1"], RevokedCertificate(leaf.serial, AT + timedelta(days=1)))
    verify_chain(leaf, [pki.org()], [pki.root], [crl], AT)
    assert reason_of(pki, leaf, crls=(crl,), at=AT + timedelta(days=2)) == "revoked"


def test_revoked_intermediate_revokes_its_leaves(pki: Pki) -> None:
    crl = pki.crl(pki.root_ca, RevokedCertificate(pki.org().serial, T0 + timedelta(days=2), RevocationReason.CA_COMPROMISE))
    assert reason_of(pki, pki.leaf("admin"), crls=(crl,)) == "revoked"


def test_crl_of_another_issuer_does_not_revoke(pki: Pki) -> None:
    leaf = pki.leaf("user")
    crl = pki.crl(pki.orgs["org2"], RevokedCertificate(leaf.serial, T0))
    verify_chain(leaf, [pki.org()], [pki.root], [crl], AT)


def test_forged_crl_in_the_issuers_name_is_a_bad_signature(pki: Pki, suite: CryptoSuite) -> None:
    impostor = make_pki(suite)  # same names, different keys
    forged = impostor.crl(impostor.orgs["org1"])
    forged_without_key_id = dataclasses.replace(forged, authority_key_id=None)
    assert reason_of(pki, pki.leaf(), crls=(forged_without_key_id,)) == "bad_signature"


def test_leaf_of_another_organisation_is_a_wrong_issuer(pki: Pki) -> None:
    leaf, _ = pki.issue("org2", "peer0", "node")
    assert reason_of(pki, leaf, intermediates=[pki.org("org1")]) == "wrong_issuer"


def test_same_issuer_name_with_another_key_is_a_wrong_issuer(pki: Pki, suite: CryptoSuite) -> None:
    impostor = make_pki(suite)
    assert reason_of(pki, impostor.leaf("node")) == "wrong_issuer"


def test_organisation_ca_issuing_for_another_organisation_is_a_wrong_issuer(pki: Pki) -> None:
    org1 = pki.orgs["org1"]
    pair = pki.suite.generate_keypair()
    profile = CertificateProfile(
        subject=DistinguishedName("mallory", "org2", "admin"),
        issuer=org1.certificate.subject,
        public_key=pair.public,
        serial=42,
        not_before=T0,
        not_after=T0 + timedelta(days=30),
        is_ca=False,
        path_length=None,
        key_usage=frozenset({"digital_signature"}),
        extended_key_usage=(),
        authority_key_id=org1.certificate.key_id or b"",
    )
    cross = sign_certificate(profile, org1.key)
    assert reason_of(pki, cross) == "wrong_issuer"


def test_wrong_role(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf("node"), role="user") == "wrong_role"


def test_an_intermediate_is_not_a_leaf_role(pki: Pki) -> None:
    assert reason_of(pki, pki.org(), role="admin") == "wrong_role"


def test_flipped_byte_in_the_tbs_is_a_bad_signature(pki: Pki) -> None:
    tampered = _flip(pki.leaf("node").der, b"node0", b"node1")
    assert reason_of(pki, tampered) == "bad_signature"


def test_flipped_byte_in_the_signature_is_a_bad_signature(pki: Pki) -> None:
    der = bytearray(pki.leaf("gateway").der)
    der[-1] ^= 0x01  # last byte of s
    assert reason_of(pki, bytes(der)) == "bad_signature"


def test_intermediate_with_a_stretched_validity_is_a_bad_signature(pki: Pki) -> None:
    org = pki.org("org1")
    stamp = org.not_after.strftime("%y%m%d%H%M%SZ").encode()
    stretched = _flip(org.der, stamp, b"491231235959Z")
    assert Certificate.parse(stretched).not_after.year == 2049
    assert reason_of(pki, pki.leaf(), intermediates=[stretched]) == "bad_signature"


def test_trusted_root_with_a_broken_self_signature_is_a_bad_signature(pki: Pki) -> None:
    der = bytearray(pki.root.der)
    der[-1] ^= 0x01
    assert reason_of(pki, pki.leaf(), roots=[bytes(der)]) == "bad_signature"


def test_chain_to_another_consortium_is_an_unknown_root(pki: Pki, suite: CryptoSuite) -> None:
    other = make_pki(suite, consortium="Other")
    assert reason_of(pki, other.leaf(), intermediates=[other.org()]) == "unknown_root"


def test_self_signed_certificate_outside_the_roots_is_an_unknown_root(pki: Pki, suite: CryptoSuite) -> None:
    other = make_pki(suite, consortium="Other")
    assert reason_of(pki, other.root) == "unknown_root"


def test_no_roots_at_all_is_an_unknown_root(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf(), roots=[]) == "unknown_root"


def test_leaf_under_a_root_of_the_other_suite_is_a_suite_mismatch(pki: Pki, other_suite: CryptoSuite) -> None:
    foreign = make_pki(other_suite)
    assert reason_of(pki, pki.leaf(), roots=[foreign.root]) == "suite_mismatch"


def test_intermediate_of_one_suite_under_a_same_named_root_of_the_other_is_a_suite_mismatch(
    pki: Pki, other_suite: CryptoSuite
) -> None:
    foreign = make_pki(other_suite)  # same consortium name "Demo": the names match, the suites do not
    assert reason_of(pki, pki.leaf(), roots=[foreign.root, make_pki(pki.suite, "Else").root]) == "suite_mismatch"


def test_ledger_suite_must_match(pki: Pki, other_suite: CryptoSuite) -> None:
    with pytest.raises(CertificateVerificationError) as info:
        verify_chain(pki.leaf(), [pki.org()], [pki.root], [], AT, suite=other_suite)
    assert info.value.reason == "suite_mismatch"
    verify_chain(pki.leaf(), [pki.org()], [pki.root], [], AT, suite=pki.suite)


def test_leaf_used_as_a_ca_is_not_a_ca(pki: Pki) -> None:
    leaf, pair = pki.leaf("admin"), pki.leaf_keys["admin"]
    victim = pki.suite.generate_keypair()
    profile = CertificateProfile(
        subject=DistinguishedName("evil", "org1", "node"),
        issuer=leaf.subject,
        public_key=victim.public,
        serial=7,
        not_before=T0,
        not_after=T0 + timedelta(days=30),
        is_ca=False,
        path_length=None,
        key_usage=frozenset({"digital_signature"}),
        extended_key_usage=(),
        authority_key_id=leaf.key_id or b"",
    )
    evil = sign_certificate(profile, pair.private)
    assert reason_of(pki, evil, intermediates=[leaf, pki.org()]) == "not_a_ca"


def test_a_ca_below_an_organisation_ca_is_a_path_too_long(pki: Pki) -> None:
    org1 = pki.orgs["org1"]
    sub_key = pki.suite.generate_keypair()
    sub = sign_certificate(
        CertificateProfile(
            subject=DistinguishedName("org1 sub CA", "org1", "ca"),
            issuer=org1.certificate.subject,
            public_key=sub_key.public,
            serial=99,
            not_before=T0,
            not_after=T0 + timedelta(days=300),
            is_ca=True,
            path_length=0,
            key_usage=CA_KEY_USAGE,
            extended_key_usage=(),
            authority_key_id=org1.certificate.key_id or b"",
        ),
        org1.key,
    )
    leaf = issue_leaf(CertificateAuthority(sub, sub_key.private), "deep", "device", pki.suite.generate_keypair().public,
                      not_before=T0, not_after=T0 + timedelta(days=200))
    assert reason_of(pki, leaf, intermediates=[sub, pki.org()]) == "path_too_long"


@pytest.mark.parametrize("data", [b"\x00\x01garbage", b""])
def test_malformed_leaf(pki: Pki, data: bytes) -> None:
    assert reason_of(pki, data) == "malformed"


def test_truncated_leaf_is_malformed(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf().der[:-10]) == "malformed"


def test_malformed_crl(pki: Pki) -> None:
    assert reason_of(pki, pki.leaf(), crls=(b"\x30\x00",)) == "malformed"


def test_verification_time_must_be_timezone_aware(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        verify_chain(pki.leaf(), [pki.org()], [pki.root], [], datetime(2025, 6, 1))
    assert info.value.code == "naive_time"


def test_verification_never_reads_the_clock(pki: Pki) -> None:
    """Block time decides: the module has no clock call, and far past / far future answer the same every time."""
    import inspect

    import chain.ca.verify as module

    source = inspect.getsource(module)
    assert "now(" not in source and "time.time" not in source and "utcnow" not in source
    for _ in range(2):
        assert reason_of(pki, pki.leaf(), at=datetime(2000, 1, 1, tzinfo=timezone.utc)) == "not_yet_valid"
        assert reason_of(pki, pki.leaf(), at=datetime(2090, 1, 1, tzinfo=timezone.utc)) == "expired"


def test_classic_certificates_with_high_s_signatures_verify() -> None:
    """cryptography/OpenSSL may sign with S > n/2; X.509 allows it even though our transaction ECDSA does not."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    pki = make_pki(CLASSIC)
    for i in range(64):
        leaf, _ = pki.issue("org1", f"high-s-{i}", "device")
        if decode_dss_signature(leaf.signature)[1] > HALF_N:
            break
    else:  # pragma: no cover - probability 2**-64
        pytest.fail("no high-S signature in 64 tries")
    verify_chain(leaf, [pki.org()], [pki.root], [], AT, "device")



def test_role_in_ou_without_matching_key_usage_is_wrong_role() -> None:
    """A certificate that says OU=node but lacks serverAuth is not a node certificate."""
    from chain.ca import CertificateAuthority, CertificateProfile, create_root, issue_intermediate, issue_leaf, sign_certificate
    from chain.ca import oids
    from chain.crypto import CLASSIC

    root_key = CLASSIC.generate_keypair().private
    root = CertificateAuthority(create_root("Strict", root_key), root_key)
    org_key = CLASSIC.generate_keypair().private
    org = CertificateAuthority(issue_intermediate(root, "org1", org_key.public_key()), org_key)
    good = issue_leaf(org, "node0", "node", CLASSIC.generate_keypair().public)
    verify_chain(good, [org.certificate], [root.certificate], [], at=good.not_before, expected_role="node")
    assert org.certificate.key_id is not None
    profile = CertificateProfile(
        subject=good.subject, issuer=org.certificate.subject, public_key=good.public_key, serial=good.serial ^ 1,
        not_before=good.not_before, not_after=good.not_after, is_ca=False, path_length=None,
        key_usage=good.key_usage, extended_key_usage=(oids.CLIENT_AUTH,), authority_key_id=org.certificate.key_id,
    )
    weak = sign_certificate(profile, org.key)
    with pytest.raises(CertificateVerificationError) as err:
        verify_chain(weak, [org.certificate], [root.certificate], [], at=good.not_before, expected_role="node")
    assert err.value.reason == "wrong_role"
