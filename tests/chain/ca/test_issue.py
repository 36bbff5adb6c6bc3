"""Issuing the hierarchy and reading certificates back through the suite-agnostic view."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chain.ca import (
    CAError,
    Certificate,
    CertificateAuthority,
    CertificateFormatError,
    create_root,
    issue_intermediate,
    issue_leaf,
    oids,
    parse_certificates,
    verify_chain,
)
from chain.ca.names import LEAF_ROLES, DistinguishedName
from chain.crypto import Algorithm, CryptoSuite, PublicKey

from .pki import AT, T0, Pki, make_pki


@pytest.mark.parametrize("role", [r.value for r in LEAF_ROLES])
def test_every_role_leaf_verifies_up_to_the_root(pki: Pki, role: str) -> None:
    result = verify_chain(pki.leaf(role), [pki.org("org1"), pki.org("org2")], [pki.root], [], AT, expected_role=role)
    assert result.path == (pki.leaf(role), pki.org("org1"), pki.root)
    assert result.role == role
    assert result.organisation == "org1"
    assert result.public_key == pki.leaf_keys[role].public
    assert result.suite is pki.suite


def test_intermediate_verifies_as_a_ca_role(pki: Pki) -> None:
    result = verify_chain(pki.org("org2"), [], [pki.root], [], AT, expected_role="ca")
    assert result.organisation == "org2"


def test_root_carries_consortium_as_o_and_root_as_ou_with_pathlen_one(pki: Pki) -> None:
    root = pki.root
    assert (root.common_name, root.organisation, root.role) == ("Demo Root CA", "Demo", "root")
    assert root.is_ca and root.path_length == 1 and root.is_self_issued
    assert root.key_usage == {"key_cert_sign", "crl_sign"}
    assert root.key_id == root.authority_key_id


def test_intermediate_carries_org_as_o_and_ca_as_ou_with_pathlen_zero(pki: Pki) -> None:
    org = pki.org("org1")
    assert (org.common_name, org.organisation, org.role) == ("org1 CA", "org1", "ca")
    assert org.is_ca and org.path_length == 0
    assert org.authority_key_id == pki.root.key_id
    assert org.issuer == pki.root.subject


@pytest.mark.parametrize("role,server", [("node", True), ("gateway", True), ("user", False), ("device", False), ("admin", False)])
def test_leaf_profile_follows_its_role(pki: Pki, role: str, server: bool) -> None:
    leaf = pki.leaf(role)
    assert (leaf.common_name, leaf.organisation, leaf.role) == (f"{role}0", "org1", role)
    assert not leaf.is_ca and leaf.path_length is None
    assert "digital_signature" in leaf.key_usage and "key_cert_sign" not in leaf.key_usage
    expected_eku = {oids.SERVER_AUTH, oids.CLIENT_AUTH} if server else {oids.CLIENT_AUTH}
    assert leaf.extended_key_usage == expected_eku
    assert leaf.authority_key_id == pki.org("org1").key_id
    if server:
        assert leaf.dns_names == ("localhost",) and leaf.ip_addresses == ("127.0.0.1",)


def test_certificate_view_exposes_suite_key_and_utc_times(pki: Pki) -> None:
    leaf = pki.leaf("user")
    assert leaf.suite is pki.suite and leaf.signature_suite is pki.suite
    assert leaf.public_key.algorithm is pki.suite.signature_algorithm
    assert leaf.not_before == T0 and leaf.not_before.tzinfo == timezone.utc
    assert leaf.not_after == T0 + timedelta(days=365)
    assert leaf.fingerprint == pki.suite.hash(leaf.der)


def test_public_key_in_certificate_verifies_the_holders_signatures(pki: Pki) -> None:
    message = b"transfer 10 units"
    signature = pki.leaf_keys["user"].private.sign(message)
    assert pki.leaf("user").public_key.verify(message, signature)


def test_pem_and_der_parse_to_the_same_certificate(pki: Pki) -> None:
    leaf = pki.leaf("node")
    assert leaf.pem.startswith("-----BEGIN CERTIFICATE-----")
    assert Certificate.parse(leaf.pem) == leaf
    assert Certificate.parse(leaf.der) == leaf
    assert Certificate.parse(leaf.pem.encode()) == leaf


def test_pem_bundle_yields_every_certificate(pki: Pki) -> None:
    bundle = pki.org("org1").pem + pki.org("org2").pem
    assert parse_certificates(bundle) == [pki.org("org1"), pki.org("org2")]


def test_suite_is_detected_from_the_algorithm_oids(pki: Pki) -> None:
    expected_sig = oids.SM2_WITH_SM3 if pki.suite.name == "sm" else oids.ECDSA_WITH_SHA256
    expected_curve = oids.SM2_CURVE if pki.suite.name == "sm" else oids.SECP256R1
    from asn1crypto import x509

    raw = x509.Certificate.load(pki.leaf().der)
    assert raw["signature_algorithm"]["algorithm"].dotted == expected_sig
    assert raw["tbs_certificate"]["subject_public_key_info"]["algorithm"]["parameters"].chosen.dotted == expected_curve
    assert Certificate.parse(pki.leaf().der).suite is pki.suite


def test_subject_names_encode_identically_in_both_suites(pki: Pki) -> None:
    for cert in (pki.root, pki.org(), pki.leaf()):
        assert cert.subject.der() == cert.subject_der


def test_serials_are_random_positive_and_at_most_128_bits(pki: Pki) -> None:
    serials = {c.serial for c in (pki.root, pki.org("org1"), pki.org("org2"), *pki.leaves.values())}
    assert len(serials) == 3 + len(pki.leaves)
    assert all(0 < s < 2**128 for s in serials)


def test_default_validity_is_ten_five_and_one_years(suite: CryptoSuite) -> None:
    root_key, org_key, leaf_key = (suite.generate_keypair() for _ in range(3))
    root = create_root("Demo", root_key.private)
    org = issue_intermediate(CertificateAuthority(root, root_key.private), "org1", org_key.public)
    leaf = issue_leaf(CertificateAuthority(org, org_key.private), "alice", "user", leaf_key.public)
    assert root.not_after - root.not_before == timedelta(days=3650)
    assert org.not_after - org.not_before == timedelta(days=1825)
    assert leaf.not_after - leaf.not_before == timedelta(days=365)


def test_default_leaf_validity_is_clipped_to_its_ca(pki: Pki) -> None:
    pair = pki.suite.generate_keypair()
    short_ca_key = pki.suite.generate_keypair()
    short = issue_intermediate(pki.root_ca, "org3", short_ca_key.public, not_before=T0, not_after=T0 + timedelta(days=10))
    leaf = issue_leaf(CertificateAuthority(short, short_ca_key.private), "x", "device", pair.public, not_before=T0)
    assert leaf.not_after == short.not_after


def test_explicit_validity_beyond_the_issuer_is_refused(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        pki.issue("org1", "late", "user", not_after=pki.org().not_after + timedelta(days=1))
    assert info.value.code == "invalid_validity"


def test_naive_datetimes_are_refused(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        pki.issue("org1", "naive", "user", not_before=datetime(2025, 2, 1))
    assert info.value.code == "naive_time"


def test_subject_alt_names_only_for_node_and_gateway(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        pki.issue("org1", "alice", "user", dns_names=["alice.example"])
    assert info.value.code == "invalid_name"


@pytest.mark.parametrize("dns,ip", [(["bad name"], []), ([], ["300.1.1.1"])])
def test_invalid_subject_alt_names_are_refused(pki: Pki, dns: list[str], ip: list[str]) -> None:
    with pytest.raises(CAError):
        pki.issue("org1", "peer9", "node", dns_names=dns, ip_addresses=ip)


def test_ipv6_subject_alt_name_round_trips(pki: Pki) -> None:
    leaf, _ = pki.issue("org1", "peer6", "node", ip_addresses=["::1"], dns_names=["Node.Example"])
    assert leaf.ip_addresses == ("::1",) and leaf.dns_names == ("node.example",)


@pytest.mark.parametrize("role", ["ca", "root", "peer"])
def test_leaf_roles_only(pki: Pki, role: str) -> None:
    with pytest.raises(CAError) as info:
        pki.issue("org1", "x", role)
    assert info.value.code == "invalid_name"


@pytest.mark.parametrize("org", ["", "root", "a/b", "-x", "x" * 65])
def test_bad_organisation_names_are_refused(pki: Pki, org: str) -> None:
    with pytest.raises(CAError) as info:
        issue_intermediate(pki.root_ca, org, pki.suite.generate_keypair().public)
    assert info.value.code == "invalid_name"


def test_a_leaf_cannot_issue_through_the_policy_api(pki: Pki) -> None:
    leaf_ca = CertificateAuthority(pki.leaf("admin"), pki.leaf_keys["admin"].private)
    with pytest.raises(CAError) as info:
        issue_leaf(leaf_ca, "x", "user", pki.suite.generate_keypair().public)
    assert info.value.code == "not_a_ca"


def test_an_intermediate_cannot_issue_intermediates(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        issue_intermediate(pki.orgs["org1"], "org9", pki.suite.generate_keypair().public)
    assert info.value.code == "wrong_issuer"


def test_a_key_of_the_other_suite_is_refused(pki: Pki, other_suite: CryptoSuite) -> None:
    with pytest.raises(CAError) as info:
        issue_leaf(pki.orgs["org1"], "x", "user", other_suite.generate_keypair().public)
    assert info.value.code == "suite_mismatch"


def test_authority_needs_the_matching_private_key(pki: Pki) -> None:
    with pytest.raises(CAError) as info:
        CertificateAuthority(pki.org(), pki.suite.generate_keypair().private)
    assert info.value.code == "key_mismatch"


def test_unicode_common_names_survive(pki: Pki) -> None:
    leaf, _ = pki.issue("org1", "张三 (Zhang, San)", "user")
    assert leaf.common_name == "张三 (Zhang, San)"
    assert str(leaf.subject) == "CN=张三 (Zhang\\, San),OU=user,O=org1"


def test_names_render_as_rfc4514() -> None:
    assert str(DistinguishedName("peer0", "org1", "node")) == "CN=peer0,OU=node,O=org1"


GARBAGE = [b"", b"\x30\x03\x02\x01\x01", b"not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_is_reported_as_malformed(data: bytes | str) -> None:
    with pytest.raises(CertificateFormatError) as info:
        Certificate.parse(data)
    assert info.value.code == "malformed"


def test_a_crl_pem_is_not_a_certificate(pki: Pki) -> None:
    with pytest.raises(CertificateFormatError):
        Certificate.parse(pki.crl(pki.orgs["org1"]).pem)


def test_rsa_certificates_are_unsupported() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rsa")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(T0).not_valid_after(T0 + timedelta(days=1)).sign(key, hashes.SHA256())
    )
    with pytest.raises(CertificateFormatError, match="ecdsa-with-SHA256 nor SM2-with-SM3"):
        Certificate.parse(cert.public_bytes(serialization.Encoding.DER))


def test_unknown_critical_extension_makes_a_certificate_malformed() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odd")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(T0).not_valid_after(T0 + timedelta(days=1))
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"), critical=True)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(CertificateFormatError, match="critical extension"):
        Certificate.parse(cert.public_bytes(serialization.Encoding.DER))


def test_foreign_openssl_style_certificate_parses(tmp_path: object) -> None:
    """A certificate made by another tool (cryptography, P-256, no OU) still yields a usable view."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plain")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(2**150).not_valid_before(T0).not_valid_after(T0 + timedelta(days=1)).sign(key, hashes.SHA256())
    )
    view = Certificate.parse(cert.public_bytes(serialization.Encoding.PEM))
    assert view.common_name == "plain" and view.role is None and view.organisation is None
    assert view.serial == 2**150 and not view.is_ca and view.key_id is None
    assert isinstance(view.public_key, PublicKey) and view.public_key.algorithm is Algorithm.ECDSA_P256


def test_a_second_hierarchy_is_independent(suite: CryptoSuite) -> None:
    a, b = make_pki(suite), make_pki(suite)
    assert a.root.subject == b.root.subject and a.root.public_key != b.root.public_key
