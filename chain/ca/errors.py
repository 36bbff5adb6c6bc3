"""Exception hierarchy of chain.ca; every error carries a stable `code`."""
from __future__ import annotations

# Stable reasons a certificate path can fail verification (CertificateVerificationError.reason).
REASONS = frozenset({
    "expired",
    "not_yet_valid",
    "revoked",
    "wrong_issuer",
    "wrong_role",
    "bad_signature",
    "unknown_root",
    "not_a_ca",
    "path_too_long",
    "malformed",
    "suite_mismatch",
})


class CAError(Exception):
    """Base of all CA errors; `code` is stable and reaches CLI users and API clients."""

    code = "ca_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class CertificateFormatError(CAError):
    """Bytes that are not a certificate or CRL this PKI understands."""

    code = "malformed"


class CertificateVerificationError(CAError):
    """A certificate path that does not verify; `reason` is one of REASONS."""

    def __init__(self, reason: str, message: str, *, subject: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown verification reason {reason!r}")
        super().__init__(message, code=reason)
        self.reason = reason
        self.subject = subject


class InvalidNameError(CAError):
    """An organisation, common name, role or SAN that the naming rules refuse."""

    code = "invalid_name"


class IssuanceError(CAError):
    """A certificate the issuing policy refuses to sign."""

    code = "issuance_refused"


class StoreError(CAError):
    """Base of CA store errors."""

    code = "store_error"


class StoreNotFoundError(StoreError):
    """No CA store in the given directory."""

    code = "store_not_found"


class StoreExistsError(StoreError):
    """A CA store already exists in the given directory."""

    code = "store_exists"


class OrganisationExistsError(StoreError):
    """The organisation already has an intermediate CA."""

    code = "org_exists"


class UnknownOrganisationError(StoreError):
    """No intermediate CA for that organisation."""

    code = "unknown_org"


class DuplicateCertificateError(StoreError):
    """A valid certificate with that common name and role already exists in the organisation."""

    code = "duplicate_certificate"


class UnknownCertificateError(StoreError):
    """No certificate with that serial in the store."""

    code = "unknown_certificate"


class AlreadyRevokedError(StoreError):
    """The certificate was revoked before."""

    code = "already_revoked"


class CAKeyError(StoreError):
    """A CA private key that cannot be opened (wrong password, missing or damaged file)."""

    code = "ca_key"
