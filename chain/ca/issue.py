"""Issuing certificates: the root, one intermediate per organisation, and role leaves."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from chain.ca import oids
from chain.ca.certificate import Certificate
from chain.ca.errors import IssuanceError
from chain.ca.keyinfo import key_identifier
from chain.ca.names import (
    LEAF_ROLES,
    TLS_SERVER_ROLES,
    DistinguishedName,
    Role,
    check_common_name,
    check_dns_name,
    check_ip_address,
    check_organisation,
    parse_role,
)
from chain.ca.profile import CertificateProfile, random_serial, utc
from chain.ca.signing import builder_for
from chain.crypto import CryptoSuite, PrivateKey, PublicKey, get_suite, suite_of

ROOT_VALIDITY = timedelta(days=3650)
INTERMEDIATE_VALIDITY = timedelta(days=1825)
LEAF_VALIDITY = timedelta(days=365)
ROOT_PATH_LENGTH = 1
INTERMEDIATE_PATH_LENGTH = 0

CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign"})
# EC keys cannot encipher keys (that is RSA); keyAgreement covers ECDH/SM2 key exchange in TLS/TLCP.
ROLE_KEY_USAGE: dict[Role, frozenset[str]] = {
    Role.NODE: frozenset({"digital_signature", "key_agreement"}),
    Role.GATEWAY: frozenset({"digital_signature", "key_agreement"}),
    Role.USER: frozenset({"digital_signature", "non_repudiation"}),
    Role.ADMIN: frozenset({"digital_signature", "non_repudiation"}),
    Role.DEVICE: frozenset({"digital_signature"}),
}
ROLE_EXTENDED_KEY_USAGE: dict[Role, tuple[str, ...]] = {
    role: (oids.SERVER_AUTH, oids.CLIENT_AUTH) if role in TLS_SERVER_ROLES else (oids.CLIENT_AUTH,)
    for role in LEAF_ROLES
}


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its private key: what signs certificates and CRLs."""

    certificate: Certificate
    key: PrivateKey

    def __post_init__(self) -> None:
        if self.key.public_key() != self.certificate.public_key:
            raise IssuanceError(f"the private key does not belong to {self.certificate.subject}", code="key_mismatch")


def _suite(suite: CryptoSuite | str) -> CryptoSuite:
    return get_suite(suite) if isinstance(suite, str) else suite


def _window(
    not_before: datetime | None,
    not_after: datetime | None,
    default: timedelta,
    issuer: Certificate | None,
) -> tuple[datetime, datetime]:
    """The validity window: explicit bounds must sit inside the issuer's; defaults are clipped to it."""
    start = utc(not_before) if not_before is not None else utc(datetime.now(timezone.utc))
    end = utc(not_after) if not_after is not None else start + default
    if issuer is not None:
        if not_before is not None and start < issuer.not_before:
            raise IssuanceError(
                f"not_before {start.isoformat()} precedes the issuer's validity ({issuer.not_before.isoformat()})",
                code="invalid_validity",
            )
        if not_after is not None and end > issuer.not_after:
            raise IssuanceError(
                f"not_after {end.isoformat()} outlives the issuer (valid until {issuer.not_after.isoformat()})",
                code="invalid_validity",
            )
        start, end = max(start, issuer.not_before), min(end, issuer.not_after)
    if end <= start:
        raise IssuanceError("the validity window is empty (not_after must be after not_before)", code="invalid_validity")
    return start, end


def sign_certificate(profile: CertificateProfile, issuer_key: PrivateKey) -> Certificate:
    """Encode and sign profile with issuer_key in the key's suite; no policy checks (see issue_* for those)."""
    if profile.public_key.algorithm is not issuer_key.algorithm:
        raise IssuanceError(
            f"cannot certify a {profile.public_key.algorithm.name} key with a {issuer_key.algorithm.name} CA: suites differ",
            code="suite_mismatch",
        )
    cert = Certificate.parse(builder_for(issuer_key.algorithm).build_certificate(profile, issuer_key))
    if cert.issuer_der != profile.issuer.der():
        raise IssuanceError(f"the issuer name {profile.issuer} did not encode canonically")
    return cert


def create_root(
    consortium: str,
    key: PrivateKey,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    common_name: str | None = None,
) -> Certificate:
    """The self-signed consortium root: O=consortium, OU=root, CA:TRUE pathlen:1 (default 10 years)."""
    name = DistinguishedName(check_common_name(common_name or f"{consortium} Root CA"), check_common_name(consortium), Role.ROOT.value)
    start, end = _window(not_before, not_after, ROOT_VALIDITY, None)
    public = key.public_key()
    profile = CertificateProfile(
        subject=name,
        issuer=name,
        public_key=public,
        serial=random_serial(),
        not_before=start,
        not_after=end,
        is_ca=True,
        path_length=ROOT_PATH_LENGTH,
        key_usage=CA_KEY_USAGE,
        extended_key_usage=(),
        authority_key_id=key_identifier(public),
    )
    return sign_certificate(profile, key)


def _require_ca(ca: CertificateAuthority, role: Role) -> None:
    cert = ca.certificate
    if not cert.is_ca or "key_cert_sign" not in cert.key_usage:
        raise IssuanceError(f"{cert.subject} is not a CA certificate and cannot issue certificates", code="not_a_ca")
    if cert.role != role.value:
        raise IssuanceError(
            f"{cert.subject} has role {cert.role!r}; this certificate must be issued by a {role.value} CA", code="wrong_issuer"
        )


def _profile_from(ca: CertificateAuthority, **fields: object) -> CertificateProfile:
    issuer = ca.certificate
    public = fields["public_key"]
    assert isinstance(public, PublicKey)
    if suite_of(public.algorithm) is not issuer.suite:
        raise IssuanceError(
            f"cannot certify a {suite_of(public.algorithm).name} key under the {issuer.suite.name} CA {issuer.subject}",
            code="suite_mismatch",
        )
    return CertificateProfile(
        issuer=issuer.subject,
        serial=random_serial(),
        authority_key_id=issuer.key_id or key_identifier(issuer.public_key),
        **fields,  # type: ignore[arg-type]
    )


def issue_intermediate(
    root: CertificateAuthority,
    organisation: str,
    public_key: PublicKey,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Certificate:
    """An organisation's CA: O=organisation, OU=ca, CA:TRUE pathlen:0 (default 5 years, within the root's validity)."""
    _require_ca(root, Role.ROOT)
    org = check_organisation(organisation)
    start, end = _window(not_before, not_after, INTERMEDIATE_VALIDITY, root.certificate)
    profile = _profile_from(
        root,
        subject=DistinguishedName(f"{org} CA", org, Role.CA.value),
        public_key=public_key,
        not_before=start,
        not_after=end,
        is_ca=True,
        path_length=INTERMEDIATE_PATH_LENGTH,
        key_usage=CA_KEY_USAGE,
        extended_key_usage=(),
    )
    return sign_certificate(profile, root.key)


def issue_leaf(
    ca: CertificateAuthority,
    common_name: str,
    role: Role | str,
    public_key: PublicKey,
    *,
    dns_names: Iterable[str] = (),
    ip_addresses: Iterable[str] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Certificate:
    """A leaf for role (node, gateway, user, device, admin) in the CA's organisation (default 1 year)."""
    _require_ca(ca, Role.CA)
    leaf_role = parse_role(str(role), leaf_only=True)
    dns = tuple(dict.fromkeys(check_dns_name(d) for d in dns_names))
    ips = tuple(dict.fromkeys(check_ip_address(i) for i in ip_addresses))
    if (dns or ips) and leaf_role not in TLS_SERVER_ROLES:
        raise IssuanceError(f"only node and gateway certificates carry DNS/IP names (they serve TLS), not {leaf_role}", code="invalid_name")
    org = ca.certificate.organisation
    if org is None:
        raise IssuanceError(f"{ca.certificate.subject} names no organisation")
    start, end = _window(not_before, not_after, LEAF_VALIDITY, ca.certificate)
    profile = _profile_from(
        ca,
        subject=DistinguishedName(check_common_name(common_name), org, leaf_role.value),
        public_key=public_key,
        not_before=start,
        not_after=end,
        is_ca=False,
        path_length=None,
        key_usage=ROLE_KEY_USAGE[leaf_role],
        extended_key_usage=ROLE_EXTENDED_KEY_USAGE[leaf_role],
        dns_names=dns,
        ip_addresses=ips,
    )
    return sign_certificate(profile, ca.key)

