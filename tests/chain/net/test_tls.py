"""TLS contexts and identities: TLS 1.3 only, mutual, no hostname check, classic keys, no clear key on disk."""
from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest

from chain.ca import CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.crypto import SM
from chain.crypto.keystore import save_key
from chain.net import Network, PeerSpec, TlsIdentity, TlsSetupError, TrustAnchors, client_context, server_context
from chain.net.errors import NetConfigError

from .conftest import FAST
from .pki import START, Pki


@pytest.mark.parametrize("build", [server_context, client_context])
def test_contexts_are_tls13_mutual_and_ignore_hostnames(pki: Pki, build) -> None:  # type: ignore[no-untyped-def]
    ctx = build(pki.identity("node0"), pki.trust)
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_3 and ctx.maximum_version is ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname is False
    assert not ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert ctx.verify_flags & ssl.VERIFY_X509_STRICT
    subjects = {dict(x[0] for x in c["subject"])["commonName"] for c in ctx.get_ca_certs()}
    assert subjects == {"Demo Root CA", "org1 CA", "org2 CA"}


def test_the_key_reaches_openssl_encrypted_in_a_private_file_that_is_deleted(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, bytes, bool]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: str, keyfile: str | None = None, password: object = None) -> None:
        key_path = Path(keyfile or certfile)
        seen.append((stat.S_IMODE(key_path.stat().st_mode), stat.S_IMODE(key_path.parent.stat().st_mode),
                     key_path.read_bytes(), password is not None))
        original(self, certfile, keyfile, password)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    server_context(pki.identity("node0"), pki.trust, key_dir=tmp_path)
    client_context(pki.identity("node0"), pki.trust, key_dir=tmp_path)
    assert len(seen) == 2
    for file_mode, dir_mode, content, with_password in seen:
        assert file_mode == 0o600 and dir_mode == 0o700
        assert content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") and with_password
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_the_temp_dir_is_removed_even_when_openssl_refuses(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        raise ssl.SSLError("simulated")

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", refuse)
    with pytest.raises(TlsSetupError):
        server_context(pki.identity("node0"), pki.trust, key_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_identity_checks(pki: Pki) -> None:
    ident = pki.identity("node0")
    other_key = pki.identity("node1").key
    with pytest.raises(TlsSetupError) as info:
        TlsIdentity(ident.certificate, ident.chain, other_key)
    assert info.value.code == "key_mismatch"
    user, user_key = pki.leaf("bob", role="user")
    with pytest.raises(TlsSetupError) as info:
        TlsIdentity(user, ident.chain, user_key)
    assert info.value.code == "wrong_role"
    assert ident.key.value.hex() not in repr(ident) and "PrivateKey" not in repr(ident)


def test_sm_certificates_are_refused_for_the_channel() -> None:
    root_key, org_key, node_key = (SM.generate_keypair().private for _ in range(3))
    root = CertificateAuthority(create_root("SmDemo", root_key, not_before=START), root_key)
    org = CertificateAuthority(issue_intermediate(root, "org1", org_key.public_key(), not_before=START), org_key)
    leaf = issue_leaf(org, "node0", "node", node_key.public_key(), not_before=START)
    with pytest.raises(TlsSetupError) as info:
        TlsIdentity(leaf, (org.certificate,), node_key)
    assert info.value.code == "unsupported_suite" and "classic TLS certificate" in str(info.value)
    with pytest.raises(TlsSetupError):
        TrustAnchors((root.certificate,))


def test_identity_and_trust_load_from_files(pki: Pki, tmp_path: Path) -> None:
    ident = pki.identity("node0")
    (tmp_path / "node.pem").write_text(ident.certificate.pem + ident.chain[0].pem)
    save_key(tmp_path / "node.key", ident.key, b"pw", scrypt_n=2**10)
    loaded = TlsIdentity.load(tmp_path / "node.pem", tmp_path / "node.key", b"pw")
    assert loaded.certificate == ident.certificate and loaded.chain == ident.chain
    with pytest.raises(TlsSetupError) as info:
        TlsIdentity.load(tmp_path / "node.pem", tmp_path / "node.key", b"wrong")
    assert info.value.code == "keystore_wrong_password"
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    for name, ca in pki.orgs.items():
        (orgs / f"{name}.pem").write_text(ca.certificate.pem)
    (tmp_path / "root.pem").write_text(pki.root.certificate.pem)
    trust = TrustAnchors.load([tmp_path / "root.pem"], orgs)
    assert trust.roots == (pki.root.certificate,) and set(trust.intermediates) == {c.certificate for c in pki.orgs.values()}
    assert trust.verify(ident.certificate, ident.certificate.not_before).role == "node"


def test_peer_list_validation(pki: Pki) -> None:
    ident = pki.identity("node0")
    spec1 = pki.spec("node1")
    with pytest.raises(NetConfigError, match="itself"):
        Network("node0", ident, pki.trust, [PeerSpec("node0", spec1.certificate)], FAST)
    with pytest.raises(NetConfigError, match="same certificate"):
        Network("node0", ident, pki.trust, [spec1, PeerSpec("node9", spec1.certificate)], FAST)
    with pytest.raises(NetConfigError, match="same certificate"):
        Network("node0", ident, pki.trust, [PeerSpec("node9", ident.certificate)], FAST)
    with pytest.raises(NetConfigError, match="host and port"):
        PeerSpec("node1", spec1.certificate, "127.0.0.1", None)
    user, _ = pki.leaf("carol", role="user")
    with pytest.raises(NetConfigError, match="not a node certificate"):
        PeerSpec("carol", user)
