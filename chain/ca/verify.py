"""Certificate path verification at a given time: deterministic, never reads the clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

from chain.ca.certificate import Certificate
from chain.ca.crl import RevocationList
from chain.ca.errors import CAError, CertificateFormatError, CertificateVerificationError
from chain.ca import oids
from chain.ca.names import LEAF_ROLES, TLS_SERVER_ROLES, Role
from chain.ca.signing import verify_signature
from chain.crypto import CryptoSuite, PublicKey

MAX_PATH = 8  # certificates, leaf and root included; ours are 3 deep


@dataclass(frozen=True)
class VerifiedChain:
    """A path that verified: leaf first, trusted root last, judged at `at`."""

    path: tuple[Certificate, ...]
    at: datetime

    @property
    def leaf(self) -> Certificate:
        """The certificate that was verified."""
        return self.path[0]

    @property
    def root(self) -> Certificate:
        """The trusted root the path ends at."""
        return self.path[-1]

    @property
    def role(self) -> str | None:
        """The leaf's role (subject OU)."""
        return self.leaf.role

    @property
    def organisation(self) -> str | None:
        """The leaf's organisation (subject O)."""
        return self.leaf.organisation

    @property
    def public_key(self) -> PublicKey:
        """The leaf's public key, to verify what its holder signs."""
        return self.leaf.public_key

    @property
    def suite(self) -> CryptoSuite:
        """The suite of the whole path."""
        return self.leaf.suite


def _fail(reason: str, message: str, cert: Certificate | None = None) -> CertificateVerificationError:
    return CertificateVerificationError(reason, message, subject=str(cert.subject) if cert is not None else None)


def _parse_cert(value: Certificate | bytes | str, what: str) -> Certificate:
    if isinstance(value, Certificate):
        return value
    try:
        return Certificate.parse(value)
    except CertificateFormatError as exc:
        raise _fail("malformed", f"{what} is malformed: {exc}") from None


def _parse_crl(value: RevocationList | bytes | str) -> RevocationList:
    if isinstance(value, RevocationList):
        return value
    try:
        return RevocationList.parse(value)
    except CertificateFormatError as exc:
        raise _fail("malformed", f"a CRL is malformed: {exc}") from None


def _instant(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise CAError("verification time `at` must be a timezone-aware datetime (pass block time)", code="naive_time")
    return at.astimezone(timezone.utc)


def _signed_by(child: Certificate, issuer: Certificate) -> bool:
    return child.signature_suite is issuer.suite and verify_signature(issuer.suite, issuer.public_key, child.tbs, child.signature)


def _find_issuer(
    child: Certificate, path: list[Certificate], roots: Sequence[Certificate], intermediates: Sequence[Certificate]
) -> Certificate:
    """The certificate that issued child: name match, then suite, then key id, then a signature that verifies."""
    seen = {c.der for c in path}
    named = [c for c in (*roots, *intermediates) if c.subject_der == child.issuer_der and c.der not in seen]
    if not named:
        if child.is_self_issued:
            raise _fail("unknown_root", f"{child} is self-signed but not a trusted root", child)
        if child is path[0] and not child.is_ca:
            raise _fail("wrong_issuer", f"the issuer of {child}, {child.issuer}, is not among the given intermediates or roots", child)
        raise _fail("unknown_root", f"{child} was issued by {child.issuer}, which is not a trusted root", child)
    same_suite = [c for c in named if c.suite is child.signature_suite]
    if not same_suite:
        raise _fail(
            "suite_mismatch",
            f"{child} is signed with the {child.signature_suite.name} suite but its issuer {named[0].subject} uses {named[0].suite.name}",
            child,
        )
    keyed = [c for c in same_suite if child.authority_key_id is None or c.key_id is None or c.key_id == child.authority_key_id]
    if not keyed:
        raise _fail("wrong_issuer", f"{child} names {child.issuer} as issuer, but was issued by a different key of that name", child)
    for candidate in keyed:
        if _signed_by(child, candidate):
            return candidate
    raise _fail("bad_signature", f"the signature on {child} does not verify under {keyed[0].subject}", child)


def _build_path(leaf: Certificate, intermediates: Sequence[Certificate], roots: Sequence[Certificate]) -> list[Certificate]:
    root_ders = {r.der for r in roots}
    path = [leaf]
    while path[-1].der not in root_ders:
        if len(path) >= MAX_PATH:
            raise _fail("path_too_long", f"no trusted root within {MAX_PATH} certificates of {leaf}", leaf)
        path.append(_find_issuer(path[-1], path, roots, intermediates))
    root = path[-1]
    if root.is_self_issued and not _signed_by(root, root):
        raise _fail("bad_signature", f"the self-signature of the trusted root {root} does not verify", root)
    return path


def _check_suites(path: Sequence[Certificate], suite: CryptoSuite | None) -> None:
    expected = suite or path[-1].suite
    for cert in path:
        if cert.suite is not expected or cert.signature_suite is not expected:
            raise _fail(
                "suite_mismatch",
                f"{cert} uses the {cert.suite.name} key / {cert.signature_suite.name} signature suite, expected {expected.name}",
                cert,
            )


def _check_structure(path: Sequence[Certificate]) -> None:
    for depth in range(1, len(path)):
        child, issuer = path[depth - 1], path[depth]
        if not issuer.is_ca or (issuer.key_usage and "key_cert_sign" not in issuer.key_usage):
            raise _fail("not_a_ca", f"{issuer} is not a CA certificate but issued {child}", issuer)
        below = depth - 1  # CA certificates between this issuer and the leaf
        if issuer.path_length is not None and below > issuer.path_length:
            raise _fail("path_too_long", f"{issuer} allows {issuer.path_length} CA(s) below it, the path has {below}", issuer)
        if issuer.role == Role.CA.value and child.organisation != issuer.organisation:
            raise _fail(
                "wrong_issuer", f"{issuer} is the CA of {issuer.organisation!r} but issued {child} for {child.organisation!r}", child
            )


def _check_revocation(path: Sequence[Certificate], crls: Sequence[RevocationList], at: datetime) -> None:
    for depth in range(len(path) - 1):
        cert, issuer = path[depth], path[depth + 1]
        for crl in crls:
            if not crl.is_issued_by(issuer):
                continue
            if not crl.verify_signature(issuer):
                raise _fail("bad_signature", f"a CRL naming {issuer.subject} as issuer has a bad signature", issuer)
            entry = crl.lookup(cert.serial)
            if entry is not None and entry.revoked_at <= at:
                raise _fail(
                    "revoked",
                    f"{cert.subject} (serial {cert.serial:x}) was revoked at {entry.revoked_at.isoformat()} "
                    f"({entry.reason.rfc_name}) by {issuer.subject}",
                    cert,
                )


def _check_validity(path: Sequence[Certificate], at: datetime) -> None:
    for cert in path:
        if at < cert.not_before:
            raise _fail("not_yet_valid", f"{cert} is not valid before {cert.not_before.isoformat()} (checked at {at.isoformat()})", cert)
        if at > cert.not_after:
            raise _fail("expired", f"{cert} expired at {cert.not_after.isoformat()} (checked at {at.isoformat()})", cert)


def _check_role(leaf: Certificate, expected_role: Role | str | None) -> None:
    if expected_role is None:
        return
    wanted = str(expected_role)
    if leaf.role != wanted:
        raise _fail("wrong_role", f"{leaf} has role {leaf.role!r}, expected {wanted!r}", leaf)
    if wanted in {r.value for r in LEAF_ROLES} and leaf.is_ca:
        raise _fail("wrong_role", f"{leaf} is a CA certificate, not a {wanted} certificate", leaf)
    if wanted in {r.value for r in LEAF_ROLES}:
        # The OU names the role; the key usages must also allow what the role does.
        needed_eku = {oids.CLIENT_AUTH} | ({oids.SERVER_AUTH} if wanted in {r.value for r in TLS_SERVER_ROLES} else set())
        if "digital_signature" not in leaf.key_usage or not needed_eku <= leaf.extended_key_usage:
            raise _fail("wrong_role", f"{leaf} says role {wanted!r} but its key usages do not allow that role", leaf)


def verify_chain(
    leaf: Certificate | bytes | str,
    intermediates: Iterable[Certificate | bytes | str],
    roots: Iterable[Certificate | bytes | str],
    crls: Iterable[RevocationList | bytes | str],
    at: datetime,
    expected_role: Role | str | None = None,
    *,
    suite: CryptoSuite | None = None,
) -> VerifiedChain:
    """Verify leaf up to one of roots at time `at` (block time), or raise CertificateVerificationError.

    Checks, in this order: parsing (malformed), suites (suite_mismatch), path
    building with each signature (wrong_issuer, unknown_root, bad_signature),
    CA flags and path lengths (not_a_ca, path_too_long, wrong_issuer for a CA
    issuing outside its organisation), CRLs of each issuer (revoked), validity
    periods (not_yet_valid, expired), and the leaf's role (wrong_role).
    """
    when = _instant(at)
    leaf_cert = _parse_cert(leaf, "the certificate")
    inter_certs = [_parse_cert(c, "an intermediate certificate") for c in intermediates]
    root_certs = [_parse_cert(c, "a root certificate") for c in roots]
    crl_list = [_parse_crl(c) for c in crls]
    if not root_certs:
        raise _fail("unknown_root", "no trusted root certificate was given", leaf_cert)
    if suite is not None and leaf_cert.suite is not suite:
        raise _fail("suite_mismatch", f"{leaf_cert} is a {leaf_cert.suite.name} certificate, the ledger uses {suite.name}", leaf_cert)
    if all(r.suite is not leaf_cert.suite for r in root_certs):
        suites = ", ".join(sorted({r.suite.name for r in root_certs}))
        raise _fail("suite_mismatch", f"{leaf_cert} is a {leaf_cert.suite.name} certificate, the trusted roots are {suites}", leaf_cert)
    path = _build_path(leaf_cert, inter_certs, root_certs)
    _check_suites(path, suite)
    _check_structure(path)
    _check_revocation(path, crl_list, when)
    _check_validity(path, when)
    _check_role(leaf_cert, expected_role)
    return VerifiedChain(tuple(path), when)
