"""A suite-agnostic, parsed view of an X.509 certificate of either suite."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from chain.ca import oids
from chain.ca.errors import CertificateFormatError
from chain.ca.keyinfo import public_key_from_point
from chain.ca.names import DistinguishedName
from chain.crypto import CryptoSuite, HashDigest, PublicKey

PEM_CERTIFICATE = "CERTIFICATE"
# Extensions this PKI understands; any other extension marked critical makes a certificate malformed.
KNOWN_CRITICAL = frozenset({
    "basic_constraints",
    "key_usage",
    "extended_key_usage",
    "subject_alt_name",
    "key_identifier",
    "authority_key_identifier",
})


def to_der(data: bytes | str, label: str) -> bytes:
    """DER bytes of DER or PEM input whose PEM label must be `label`."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not pem.detect(raw):
        return raw
    try:
        found, _headers, der = pem.unarmor(raw)
    except ValueError as exc:
        raise CertificateFormatError(f"invalid PEM: {exc}") from None
    if found != label:
        raise CertificateFormatError(f"expected a PEM {label!r} block, found {found!r}")
    return der


def utc_time(value: Any) -> datetime:
    """An asn1crypto Time as a timezone-aware UTC datetime."""
    moment = value.native
    if not isinstance(moment, datetime):
        raise CertificateFormatError(f"time {value!r} is out of range")
    return moment.astimezone(timezone.utc)


def signature_suite(algorithm: Any, what: str) -> CryptoSuite:
    """The suite of a signature AlgorithmIdentifier, refusing anything else and any parameters."""
    oid = algorithm["algorithm"].dotted
    suite = oids.SIGNATURE_SUITES.get(oid)
    if suite is None:
        raise CertificateFormatError(f"{what} signature algorithm {oid} is neither ecdsa-with-SHA256 nor SM2-with-SM3")
    params = algorithm["parameters"]
    if params.native is not None:
        raise CertificateFormatError(f"{what} signature algorithm {oid} must have no parameters")
    return suite


@dataclass(frozen=True)
class Certificate:
    """The facts the ledger needs from a certificate; build with Certificate.parse."""

    der: bytes = field(repr=False)
    suite: CryptoSuite = field(repr=False)
    subject: DistinguishedName
    issuer: DistinguishedName
    serial: int
    not_before: datetime
    not_after: datetime
    is_ca: bool
    path_length: int | None
    public_key: PublicKey = field(repr=False)
    key_usage: frozenset[str] = field(repr=False)
    extended_key_usage: frozenset[str] = field(repr=False)
    dns_names: tuple[str, ...] = field(repr=False)
    ip_addresses: tuple[str, ...] = field(repr=False)
    key_id: bytes | None = field(repr=False)
    authority_key_id: bytes | None = field(repr=False)
    signature_suite: CryptoSuite = field(repr=False)
    subject_der: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False)
    tbs: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @classmethod
    def parse(cls, data: bytes | str) -> Certificate:
        """Parse DER or PEM; the suite is detected from the key's curve and the signature algorithm OIDs."""
        der = to_der(data, PEM_CERTIFICATE)
        try:
            return cls._from_asn1(der, asn1_x509.Certificate.load(der, strict=True))
        except CertificateFormatError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CertificateFormatError(f"not a valid X.509 certificate: {exc}") from None

    @classmethod
    def _from_asn1(cls, der: bytes, cert: asn1_x509.Certificate) -> Certificate:
        tbs = cert["tbs_certificate"]
        if tbs["version"].native != "v3":
            raise CertificateFormatError("only X.509 v3 certificates are supported")
        sig_suite = signature_suite(cert["signature_algorithm"], "certificate")
        if tbs["signature"].dump() != cert["signature_algorithm"].dump():
            raise CertificateFormatError("the inner and outer signature algorithms differ")
        spki = tbs["subject_public_key_info"]
        if spki["algorithm"]["algorithm"].dotted != oids.ID_EC_PUBLIC_KEY:
            raise CertificateFormatError(f"public key algorithm {spki['algorithm']['algorithm'].dotted} is not id-ecPublicKey")
        params = spki["algorithm"]["parameters"]
        if params.name != "named":
            raise CertificateFormatError("the public key must name its curve")
        curve_oid = params.chosen.dotted
        key_suite = oids.CURVE_SUITES.get(curve_oid)
        if key_suite is None:
            raise CertificateFormatError(f"curve {curve_oid} is neither P-256 nor SM2")
        public_key = public_key_from_point(key_suite, spki["public_key"].native)
        unknown = {str(e) for e in cert.critical_extensions} - KNOWN_CRITICAL
        if unknown:
            raise CertificateFormatError(f"unsupported critical extension(s): {', '.join(sorted(unknown))}")
        constraints = cert.basic_constraints_value
        is_ca = bool(constraints and constraints["ca"].native)
        path_length = constraints["path_len_constraint"].native if is_ca and constraints is not None else None
        key_usage = frozenset(cert.key_usage_value.native) if cert.key_usage_value is not None else frozenset()
        eku = cert.extended_key_usage_value
        ext_key_usage = frozenset(p.dotted for p in eku) if eku is not None else frozenset()
        aki = cert.authority_key_identifier_value
        san = cert.subject_alt_name_value
        dns = tuple(g.native for g in san if g.name == "dns_name") if san is not None else ()
        ips = tuple(g.native for g in san if g.name == "ip_address") if san is not None else ()
        validity = tbs["validity"]
        return cls(
            der=der,
            suite=key_suite,
            subject=DistinguishedName.from_asn1(tbs["subject"]),
            issuer=DistinguishedName.from_asn1(tbs["issuer"]),
            serial=tbs["serial_number"].native,
            not_before=utc_time(validity["not_before"]),
            not_after=utc_time(validity["not_after"]),
            is_ca=is_ca,
            path_length=path_length,
            public_key=public_key,
            key_usage=key_usage,
            extended_key_usage=ext_key_usage,
            dns_names=dns,
            ip_addresses=ips,
            key_id=cert.key_identifier_value.native if cert.key_identifier_value is not None else None,
            authority_key_id=aki["key_identifier"].native if aki is not None else None,
            signature_suite=sig_suite,
            subject_der=tbs["subject"].dump(),
            issuer_der=tbs["issuer"].dump(),
            tbs=tbs.dump(),
            signature=cert["signature_value"].native,
        )

    @property
    def common_name(self) -> str | None:
        """Subject CN: who holds the key."""
        return self.subject.common_name

    @property
    def organisation(self) -> str | None:
        """Subject O: the member organisation."""
        return self.subject.organisation

    @property
    def role(self) -> str | None:
        """Subject OU: root, ca, node, gateway, user, device or admin."""
        return self.subject.role

    @property
    def is_self_issued(self) -> bool:
        """Subject and issuer names are the same (a root)."""
        return self.subject_der == self.issuer_der

    @property
    def fingerprint(self) -> HashDigest:
        """The suite's hash (SHA-256 or SM3) of the DER, self-describing."""
        return self.suite.hash(self.der)

    @property
    def pem(self) -> str:
        """PEM text."""
        return pem.armor(PEM_CERTIFICATE, self.der).decode()

    def valid_at(self, at: datetime) -> bool:
        """not_before <= at <= not_after."""
        return self.not_before <= at <= self.not_after

    def __str__(self) -> str:
        """Short description: subject and serial."""
        return f"{self.subject} (serial {self.serial:x})"


def parse_certificates(data: bytes | str) -> list[Certificate]:
    """Every certificate in a PEM bundle (or the one in DER input)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not pem.detect(raw):
        return [Certificate.parse(raw)]
    try:
        blocks = [(label, der) for label, _h, der in pem.unarmor(raw, multiple=True)]
    except ValueError as exc:
        raise CertificateFormatError(f"invalid PEM: {exc}") from None
    certs = [Certificate.parse(der) for label, der in blocks if label == PEM_CERTIFICATE]
    if not certs:
        raise CertificateFormatError("no CERTIFICATE block in the PEM input")
    return certs
