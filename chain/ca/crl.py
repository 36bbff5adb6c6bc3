"""Certificate revocation lists of both suites: issue, parse, look up."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from asn1crypto import crl as asn1_crl
from asn1crypto import pem

from chain.ca.certificate import Certificate, signature_suite, to_der, utc_time
from chain.ca.errors import CertificateFormatError, IssuanceError
from chain.ca.issue import CertificateAuthority
from chain.ca.keyinfo import key_identifier
from chain.ca.names import DistinguishedName
from chain.ca.profile import CrlProfile, RevocationReason, RevokedCertificate, utc
from chain.ca.signing import builder_for, verify_signature
from chain.crypto import CryptoSuite

PEM_CRL = "X509 CRL"
DEFAULT_CRL_VALIDITY = timedelta(days=30)
_KNOWN_CRITICAL = frozenset({"authority_key_identifier", "crl_number"})


@dataclass(frozen=True)
class RevocationList:
    """A parsed CRL: who issued it, when, its number and the revoked serials."""

    der: bytes = field(repr=False)
    suite: CryptoSuite = field(repr=False)
    issuer: DistinguishedName
    number: int | None
    this_update: datetime
    next_update: datetime | None
    entries: tuple[RevokedCertificate, ...]
    authority_key_id: bytes | None = field(repr=False)
    issuer_der: bytes = field(repr=False)
    tbs: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @classmethod
    def parse(cls, data: bytes | str) -> RevocationList:
        """Parse a DER or PEM CRL of either suite."""
        der = to_der(data, PEM_CRL)
        try:
            return cls._from_asn1(der, asn1_crl.CertificateList.load(der, strict=True))
        except CertificateFormatError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CertificateFormatError(f"not a valid CRL: {exc}") from None

    @classmethod
    def _from_asn1(cls, der: bytes, crl: asn1_crl.CertificateList) -> RevocationList:
        tbs = crl["tbs_cert_list"]
        suite = signature_suite(crl["signature_algorithm"], "CRL")
        if tbs["signature"].dump() != crl["signature_algorithm"].dump():
            raise CertificateFormatError("the CRL's inner and outer signature algorithms differ")
        unknown = {str(e) for e in crl.critical_extensions} - _KNOWN_CRITICAL
        if unknown:
            raise CertificateFormatError(f"unsupported critical CRL extension(s): {', '.join(sorted(unknown))}")
        entries = []
        for item in tbs["revoked_certificates"]:
            if item.critical_extensions - {"crl_reason"}:
                raise CertificateFormatError("unsupported critical CRL entry extension")
            reason = item.crl_reason_value
            entries.append(RevokedCertificate(
                serial=item["user_certificate"].native,
                revoked_at=utc_time(item["revocation_date"]),
                reason=RevocationReason[reason.native.upper()] if reason is not None else RevocationReason.UNSPECIFIED,
            ))
        aki = crl.authority_key_identifier_value
        number = crl.crl_number_value
        next_update = tbs["next_update"]
        return cls(
            der=der,
            suite=suite,
            issuer=DistinguishedName.from_asn1(tbs["issuer"]),
            number=number.native if number is not None else None,
            this_update=utc_time(tbs["this_update"]),
            next_update=utc_time(next_update) if next_update.native is not None else None,
            entries=tuple(entries),
            authority_key_id=aki["key_identifier"].native if aki is not None else None,
            issuer_der=tbs["issuer"].dump(),
            tbs=tbs.dump(),
            signature=crl["signature"].native,
        )

    @property
    def pem(self) -> str:
        """PEM text."""
        return pem.armor(PEM_CRL, self.der).decode()

    def lookup(self, serial: int) -> RevokedCertificate | None:
        """The entry revoking serial, or None."""
        for entry in self.entries:
            if entry.serial == serial:
                return entry
        return None

    def is_issued_by(self, issuer: Certificate) -> bool:
        """Issuer name (and key id, when both carry one) match the CA certificate."""
        if self.issuer_der != issuer.subject_der:
            return False
        return self.authority_key_id is None or issuer.key_id is None or self.authority_key_id == issuer.key_id

    def verify_signature(self, issuer: Certificate) -> bool:
        """True iff the issuer certificate's key signed this CRL in the CRL's suite."""
        return self.suite is issuer.suite and verify_signature(self.suite, issuer.public_key, self.tbs, self.signature)


def issue_crl(
    ca: CertificateAuthority,
    entries: Iterable[RevokedCertificate],
    *,
    number: int,
    this_update: datetime,
    next_update: datetime | None = None,
) -> RevocationList:
    """Sign a CRL for ca listing entries; next_update defaults to this_update + 30 days."""
    if "crl_sign" not in ca.certificate.key_usage:
        raise IssuanceError(f"{ca.certificate.subject} may not sign CRLs (no cRLSign key usage)", code="not_a_ca")
    start = utc(this_update)
    profile = CrlProfile(
        issuer=ca.certificate.subject,
        authority_key_id=ca.certificate.key_id or key_identifier(ca.certificate.public_key),
        number=number,
        this_update=start,
        next_update=next_update if next_update is not None else start + DEFAULT_CRL_VALIDITY,
        entries=tuple(entries),
    )
    crl = RevocationList.parse(builder_for(ca.key.algorithm).build_crl(profile, ca.key))
    if crl.issuer_der != ca.certificate.subject_der:
        raise IssuanceError(f"cannot reproduce the issuer name of {ca.certificate.subject} in a CRL")
    return crl
