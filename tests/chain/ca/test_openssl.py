"""Interoperability: the system OpenSSL parses our certificates and CRLs and verifies our chains."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chain.ca import (
    CertificateAuthority,
    RevocationReason,
    RevokedCertificate,
    create_root,
    issue_crl,
    issue_intermediate,
    issue_leaf,
)
from chain.crypto import CLASSIC, SM, CryptoSuite
from chain.crypto.sm2.curve import DEFAULT_ID

from .pki import Pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
# OpenSSL 3.0 signs and verifies SM2 in X.509 with an empty signer ID unless told otherwise; GM/T 0015 and our
# suite use the default ID 1234567812345678, so SM2 certificates need `-vfyopt distid:...` on the certificate checked.
DISTID = f"distid:{DEFAULT_ID.decode()}"


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


def build_now(suite: CryptoSuite) -> Pki:
    """A hierarchy valid now (openssl verify uses the clock)."""
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    root_key, org_key, leaf_key = (suite.generate_keypair() for _ in range(3))
    root = create_root("Demo", root_key.private, not_before=start)
    root_ca = CertificateAuthority(root, root_key.private)
    org = issue_intermediate(root_ca, "org1", org_key.public, not_before=start)
    org_ca = CertificateAuthority(org, org_key.private)
    leaf = issue_leaf(org_ca, "peer0", "node", leaf_key.public, dns_names=["localhost"], ip_addresses=["127.0.0.1"], not_before=start)
    return Pki(suite, root_ca, {"org1": org_ca}, {"node": leaf}, {"node": leaf_key})


@pytest.fixture
def now_pki(suite: CryptoSuite) -> Pki:
    """build_now for the suite under test."""
    return build_now(suite)


def write(tmp_path: Path, pki: Pki, *crl_entries: RevokedCertificate) -> dict[str, str]:
    files = {"root": pki.root.pem, "int": pki.org().pem, "leaf": pki.leaf().pem}
    start = pki.leaf().not_before
    files["crl"] = issue_crl(pki.orgs["org1"], crl_entries, number=2, this_update=start).pem
    paths = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.pem"
        path.write_text(text)
        paths[name] = str(path)
    return paths


def test_openssl_parses_certificates_of_both_suites(now_pki: Pki, tmp_path: Path) -> None:
    paths = write(tmp_path, now_pki)
    expected_alg = "ecdsa-with-SHA256" if now_pki.suite is CLASSIC else "SM2-with-SM3"
    for name in ("root", "int", "leaf"):
        out = openssl("x509", "-in", paths[name], "-noout", "-text")
        assert out.returncode == 0, out.stderr
        assert f"Signature Algorithm: {expected_alg}" in out.stdout
    leaf = openssl("x509", "-in", paths["leaf"], "-noout", "-text").stdout
    assert "Subject: O = org1, OU = node, CN = peer0" in leaf
    assert "CA:FALSE" in leaf and "TLS Web Server Authentication, TLS Web Client Authentication" in leaf
    assert "DNS:localhost, IP Address:127.0.0.1" in leaf
    assert ("ASN1 OID: SM2" if now_pki.suite is not CLASSIC else "ASN1 OID: prime256v1") in leaf
    inter = openssl("x509", "-in", paths["int"], "-noout", "-text").stdout
    assert "CA:TRUE, pathlen:0" in inter


def test_openssl_parses_crls_of_both_suites(now_pki: Pki, tmp_path: Path) -> None:
    serial = now_pki.leaf().serial
    paths = write(tmp_path, now_pki, RevokedCertificate(serial, now_pki.leaf().not_before, RevocationReason.KEY_COMPROMISE))
    out = openssl("crl", "-in", paths["crl"], "-noout", "-text")
    assert out.returncode == 0, out.stderr
    assert "Key Compromise" in out.stdout and "X509v3 CRL Number" in out.stdout
    assert f"{serial:X}" in out.stdout.replace(":", "").upper()


def test_openssl_verifies_the_classic_chain_and_sees_the_revocation(tmp_path: Path) -> None:
    pki = build_now(CLASSIC)
    leaf = pki.leaf()
    start = leaf.not_before
    ok = write(tmp_path, pki)
    out = openssl("verify", "-CAfile", ok["root"], "-untrusted", ok["int"], ok["leaf"])
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr
    out = openssl("verify", "-crl_check", "-CAfile", ok["root"], "-untrusted", ok["int"], "-CRLfile", ok["crl"], ok["leaf"])
    assert out.returncode == 0, out.stderr
    revoked_dir = tmp_path / "revoked"
    revoked_dir.mkdir()
    bad = write(revoked_dir, pki, RevokedCertificate(leaf.serial, start))
    out = openssl("verify", "-crl_check", "-CAfile", bad["root"], "-untrusted", bad["int"], "-CRLfile", bad["crl"], bad["leaf"])
    assert out.returncode != 0 and "certificate revoked" in out.stderr


def test_openssl_verifies_each_sm2_link_with_the_default_signer_id(tmp_path: Path) -> None:
    paths = write(tmp_path, build_now(SM))
    link1 = openssl("verify", "-vfyopt", DISTID, "-CAfile", paths["root"], paths["int"])
    assert link1.returncode == 0, link1.stderr
    link2 = openssl("verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", paths["int"], paths["leaf"])
    assert link2.returncode == 0, link2.stderr
    # Without the ID OpenSSL 3.0 hashes Z_A over an empty ID, so the same signature fails: proof the ID is the one used.
    assert openssl("verify", "-partial_chain", "-CAfile", paths["int"], paths["leaf"]).returncode != 0
