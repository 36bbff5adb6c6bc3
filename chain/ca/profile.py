"""What gets signed: the suite-neutral contents of a certificate or a CRL, before encoding."""
from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from chain.ca.errors import CAError
from chain.ca.keyinfo import key_identifier
from chain.ca.names import DistinguishedName
from chain.crypto import PublicKey

SERIAL_BITS = 128


def utc(moment: datetime) -> datetime:
    """A timezone-aware datetime in UTC at whole seconds (what X.509 times can carry)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CAError(f"time {moment.isoformat()} has no timezone; pass an aware datetime (UTC)", code="naive_time")
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def random_serial() -> int:
    """A random positive 128-bit serial number (RFC 5280: unpredictable, at most 20 octets)."""
    while True:
        serial = secrets.randbits(SERIAL_BITS)
        if serial:
            return serial


class RevocationReason(enum.IntEnum):
    """CRLReason codes of RFC 5280 section 5.3.1."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10

    @property
    def rfc_name(self) -> str:
        """The RFC 5280 spelling, e.g. keyCompromise."""
        return _RFC_NAMES[self]

    @property
    def asn1_name(self) -> str:
        """asn1crypto's spelling, e.g. key_compromise."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        """Accept keyCompromise, key_compromise, key-compromise or the numeric code."""
        norm = text.strip().replace("-", "_")
        if norm.isdigit():
            try:
                return cls(int(norm))
            except ValueError:
                pass
        for reason in cls:
            if norm.lower() in (reason.name.lower(), reason.rfc_name.lower()):
                return reason
        raise CAError(f"unknown revocation reason {text!r}; choose one of: {', '.join(r.rfc_name for r in cls)}", code="invalid_reason")


_RFC_NAMES = {
    RevocationReason.UNSPECIFIED: "unspecified",
    RevocationReason.KEY_COMPROMISE: "keyCompromise",
    RevocationReason.CA_COMPROMISE: "cACompromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliationChanged",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessationOfOperation",
    RevocationReason.CERTIFICATE_HOLD: "certificateHold",
    RevocationReason.REMOVE_FROM_CRL: "removeFromCRL",
    RevocationReason.PRIVILEGE_WITHDRAWN: "privilegeWithdrawn",
    RevocationReason.AA_COMPROMISE: "aACompromise",
}


@dataclass(frozen=True, slots=True)
class CertificateProfile:
    """Every field of a certificate's TBS part, independent of the suite that will sign it."""

    subject: DistinguishedName
    issuer: DistinguishedName
    public_key: PublicKey
    serial: int
    not_before: datetime
    not_after: datetime
    is_ca: bool
    path_length: int | None
    key_usage: frozenset[str]  # asn1crypto names: digital_signature, key_cert_sign, crl_sign, ...
    extended_key_usage: tuple[str, ...]  # dotted OIDs
    authority_key_id: bytes
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "not_before", utc(self.not_before))
        object.__setattr__(self, "not_after", utc(self.not_after))
        if not 0 < self.serial < 2**159:
            raise CAError("a serial number must be positive and fit in 20 octets", code="invalid_serial")
        if self.not_after <= self.not_before:
            raise CAError("not_after must be later than not_before", code="invalid_validity")

    @property
    def subject_key_id(self) -> bytes:
        """The subjectKeyIdentifier derived from the public key."""
        return key_identifier(self.public_key)


@dataclass(frozen=True, slots=True)
class RevokedCertificate:
    """One CRL entry: which serial, since when, why."""

    serial: int
    revoked_at: datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED

    def __post_init__(self) -> None:
        object.__setattr__(self, "revoked_at", utc(self.revoked_at))


@dataclass(frozen=True, slots=True)
class CrlProfile:
    """Every field of a CRL's TBS part, independent of the suite that will sign it."""

    issuer: DistinguishedName
    authority_key_id: bytes
    number: int
    this_update: datetime
    next_update: datetime
    entries: tuple[RevokedCertificate, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "this_update", utc(self.this_update))
        object.__setattr__(self, "next_update", utc(self.next_update))
        object.__setattr__(self, "entries", tuple(sorted(self.entries, key=lambda e: e.serial)))
        if self.next_update <= self.this_update:
            raise CAError("a CRL's next_update must be later than its this_update", code="invalid_validity")
        if self.number < 0:
            raise CAError("a CRL number must not be negative", code="invalid_crl_number")
