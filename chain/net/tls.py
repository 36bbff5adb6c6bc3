"""TLS 1.3 mutual authentication with consortium node certificates (classic suite, P-256).

OpenSSL checks the peer's chain against the consortium roots during the
handshake (with the wall clock); `authenticate_peer` then re-checks the leaf
with `chain.ca.verify_chain` (CRLs, role `node`, our clock) before any
application byte is exchanged. Peers are identified by certificate, never by
DNS name, so hostname checking is off.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat

from chain.ca import (
    CAError,
    Certificate,
    RevocationList,
    VerifiedChain,
    parse_certificates,
    verify_chain,
)
from chain.crypto import CLASSIC, Algorithm, CryptoError, PrivateKey
from chain.crypto.keystore import load_key
from chain.net.errors import PeerRefusedError, TlsSetupError

NODE_ROLE = "node"
_CURVE = ec.SECP256R1()


def certificate_fingerprint(cert: Certificate) -> bytes:
    """SHA-256 of the certificate's DER: how an authenticated peer is matched to a node id."""
    return hashlib.sha256(cert.der).digest()


def _require_classic(cert: Certificate, what: str) -> None:
    if cert.suite is not CLASSIC or cert.signature_suite is not CLASSIC:
        raise TlsSetupError(
            f"{what} {cert} is a {cert.suite.name} certificate; the P2P channel needs classic (P-256) certificates "
            "(an SM ledger issues each node a classic TLS certificate alongside its SM ledger key)",
            code="unsupported_suite",
        )


def _certificates(source: Certificate | bytes | str | os.PathLike[str]) -> list[Certificate]:
    """Certificates from an object, PEM/DER bytes or text, or a file path."""
    if isinstance(source, Certificate):
        return [source]
    try:
        if isinstance(source, (str, os.PathLike)) and not (isinstance(source, str) and "-----BEGIN" in source):
            return parse_certificates(Path(source).read_bytes())
        return parse_certificates(source)
    except OSError as exc:
        raise TlsSetupError(f"cannot read certificate file {source!r}: {exc}", code="file") from None
    except CAError as exc:
        raise TlsSetupError(f"not a certificate: {exc}", code="bad_certificate") from None


@dataclass(frozen=True)
class TlsIdentity:
    """Our side of the channel: node leaf certificate, its issuing CA(s) (root excluded), and the private key."""

    certificate: Certificate
    chain: tuple[Certificate, ...]
    key: PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", tuple(self.chain))
        _require_classic(self.certificate, "the node certificate")
        for cert in self.chain:
            _require_classic(cert, "the chain certificate")
        if self.key.algorithm is not Algorithm.ECDSA_P256:
            raise TlsSetupError(f"the TLS key must be ECDSA P-256, not {self.key.algorithm.name}", code="unsupported_suite")
        if self.key.public_key() != self.certificate.public_key:
            raise TlsSetupError(f"the private key does not belong to {self.certificate}", code="key_mismatch")
        if self.certificate.role != NODE_ROLE:
            raise TlsSetupError(f"{self.certificate} has role {self.certificate.role!r}; the P2P channel needs a node certificate",
                                code="wrong_role")

    @classmethod
    def load(
        cls,
        certificate_file: str | os.PathLike[str],
        key_file: str | os.PathLike[str],
        password: bytes,
        chain_files: Iterable[str | os.PathLike[str]] = (),
    ) -> TlsIdentity:
        """Leaf (optionally followed by its CA in the same PEM file), extra chain files, and an encrypted keystore file."""
        certs = _certificates(certificate_file)
        for path in chain_files:
            certs.extend(_certificates(path))
        try:
            key = load_key(key_file, password)
        except CryptoError as exc:
            raise TlsSetupError(f"cannot open the TLS key {key_file}: {exc}", code=exc.code) from None
        return cls(certs[0], tuple(certs[1:]), key)

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of our certificate's DER."""
        return certificate_fingerprint(self.certificate)


@dataclass(frozen=True)
class TrustAnchors:
    """What a peer's certificate must chain to: consortium roots, known organisation CAs, and current CRLs."""

    roots: tuple[Certificate, ...]
    intermediates: tuple[Certificate, ...] = ()
    crls: tuple[RevocationList, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "roots", tuple(self.roots))
        object.__setattr__(self, "intermediates", tuple(self.intermediates))
        object.__setattr__(self, "crls", tuple(self.crls))
        if not self.roots:
            raise TlsSetupError("at least one consortium root certificate is needed", code="no_roots")
        for cert in (*self.roots, *self.intermediates):
            _require_classic(cert, "the trusted certificate")

    @classmethod
    def load(
        cls,
        roots: Iterable[str | os.PathLike[str]],
        intermediates: Iterable[str | os.PathLike[str]] | str | os.PathLike[str] = (),
        crls: Iterable[str | os.PathLike[str]] = (),
    ) -> TrustAnchors:
        """From PEM/DER files; `intermediates` may also be a directory whose *.pem files are organisation CAs."""
        if isinstance(intermediates, (str, os.PathLike)):
            directory = Path(intermediates)
            paths: list[str | os.PathLike[str]] = [*sorted(directory.glob("*.pem"))] if directory.is_dir() else [directory]
        else:
            paths = list(intermediates)
        try:
            crl_list = tuple(RevocationList.parse(Path(p).read_bytes()) for p in crls)
        except (OSError, CAError) as exc:
            raise TlsSetupError(f"cannot read a CRL: {exc}", code="bad_crl") from None
        return cls(
            tuple(c for p in roots for c in _certificates(p)),
            tuple(c for p in paths for c in _certificates(p)),
            crl_list,
        )

    def with_crls(self, crls: Iterable[RevocationList]) -> TrustAnchors:
        """A copy with the CRLs replaced (CRLs are ledger state and change over time)."""
        return TrustAnchors(self.roots, self.intermediates, tuple(crls))

    def pem_bundle(self) -> str:
        """Roots and organisation CAs as one PEM text, for OpenSSL's store."""
        return "".join(c.pem for c in (*self.roots, *self.intermediates))

    def verify(self, leaf: Certificate, at: datetime, expected_role: str = NODE_ROLE) -> VerifiedChain:
        """chain.ca.verify_chain of leaf against these anchors at `at`, classic suite, given role."""
        return verify_chain(leaf, self.intermediates, self.roots, self.crls, at=at, expected_role=expected_role, suite=CLASSIC)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_identity(ctx: ssl.SSLContext, identity: TlsIdentity, key_dir: str | os.PathLike[str] | None) -> None:
    """Hand cert chain and key to OpenSSL through a 0600 file in a private 0700 temp dir, deleted at once.

    The key file is itself encrypted (PKCS#8, a random one-time password held
    only in memory), so no clear key ever reaches the disk.
    """
    password = secrets.token_hex(32).encode()
    key = ec.derive_private_key(int.from_bytes(identity.key.value, "big"), _CURVE)
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(password))
    chain_pem = "".join(c.pem for c in (identity.certificate, *identity.chain)).encode()
    directory = Path(tempfile.mkdtemp(prefix="chain-net-", dir=key_dir))
    try:
        _write_private(directory / "chain.pem", chain_pem)
        _write_private(directory / "key.pem", key_pem)
        ctx.load_cert_chain(directory / "chain.pem", directory / "key.pem", password=password)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(f"OpenSSL refused our certificate or key: {exc}", code="tls_setup") from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _context(
    purpose: int, identity: TlsIdentity, trust: TrustAnchors, key_dir: str | os.PathLike[str] | None
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags = (ctx.verify_flags | ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_TRUSTED_FIRST) & ~ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_TICKET
    try:
        ctx.load_verify_locations(cadata=trust.pem_bundle())
    except ssl.SSLError as exc:
        raise TlsSetupError(f"OpenSSL refused the trust anchors: {exc}", code="tls_setup") from None
    _load_identity(ctx, identity, key_dir)
    return ctx


def server_context(identity: TlsIdentity, trust: TrustAnchors, *, key_dir: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The accepting side: TLS 1.3 only, client certificate required, no session tickets."""
    ctx = _context(ssl.PROTOCOL_TLS_SERVER, identity, trust, key_dir)
    ctx.num_tickets = 0
    return ctx


def client_context(identity: TlsIdentity, trust: TrustAnchors, *, key_dir: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The dialling side: TLS 1.3 only, server certificate required, no hostname check."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, identity, trust, key_dir)


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> Certificate:
    """The leaf certificate the peer authenticated with (DER from the TLS session, parsed)."""
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        raise PeerRefusedError("the peer sent no certificate", code="no_certificate")
    try:
        return Certificate.parse(der)
    except CAError as exc:
        raise PeerRefusedError(f"the peer's certificate does not parse: {exc}", code="malformed") from None


def authenticate_peer(
    ssl_object: ssl.SSLObject | ssl.SSLSocket, trust: TrustAnchors, at: datetime, expected_role: str = NODE_ROLE
) -> VerifiedChain:
    """Verify the peer's leaf with chain.ca at `at` (CRLs, role); PeerRefusedError with the chain.ca reason as code."""
    leaf = peer_certificate(ssl_object)
    try:
        return trust.verify(leaf, at, expected_role)
    except CAError as exc:
        text = str(exc) if str(leaf.subject) in str(exc) else f"{leaf}: {exc}"
        raise PeerRefusedError(text, code=exc.code) from None

