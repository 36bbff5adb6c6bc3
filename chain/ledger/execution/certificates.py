"""Certificate checks against the ledger's own PKI state (roots, participants, on-chain revocations)."""
from __future__ import annotations

from datetime import timedelta

from chain.ca import Certificate, CAError, verify_chain
from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, ResultCode
from chain.ledger.execution.context import EPOCH, TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import decode_record, load
from chain.ledger.model import CertificateFacts, EntityState, Participant, RevokedCertificate, TrustedRoots

SERIAL_BYTES = 20


def serial_bytes(serial: int) -> bytes:
    """A certificate serial as 20 big-endian bytes (RFC 5280 allows up to 20 octets)."""
    return serial.to_bytes(SERIAL_BYTES, "big")


def to_ms(moment: object) -> int:
    """Milliseconds since the epoch, computed without floats."""
    return (moment - EPOCH) // timedelta(milliseconds=1)  # type: ignore[operator]


def parse(der: bytes, what: str) -> Certificate:
    """Parse a certificate or fail the transaction with a clear reason."""
    try:
        return Certificate.parse(der)
    except CAError as exc:
        raise ExecutionFailure(f"{what}: {exc}", ResultCode.CERTIFICATE_INVALID) from None


def trusted_roots(state: Overlay) -> tuple[bytes, ...]:
    """DER of every trusted root."""
    record = load(state, ns.trusted_roots_key(), TrustedRoots)
    return record.certificates if record is not None else ()


def fingerprint(ctx: TxContext, der: bytes) -> bytes:
    """The ledger-suite hash of a certificate's DER."""
    return ctx.block.suite.digest(der)


def is_revoked(state: Overlay, issuer_fingerprint: bytes, serial: bytes) -> bool:
    """True if the ledger records this certificate as revoked."""
    prefix = ns.revoked_certificates_prefix(issuer_fingerprint)
    raw = state.get_sparse(prefix + serial, prefix)
    return raw is not None and decode_record(RevokedCertificate, raw) is not None


def verify_member_certificate(
    state: Overlay, ctx: TxContext, der: bytes, roles: tuple[str, ...], what: str
) -> tuple[Certificate, Participant, CertificateFacts]:
    """Verify a leaf issued by a registered, active participant's CA, chaining to a trusted root."""
    cert = parse(der, what)
    org = cert.organisation
    if not org:
        raise ExecutionFailure(f"{what} names no organisation (O=)", ResultCode.CERTIFICATE_INVALID)
    participant = load(state, ns.participant_key(org), Participant)
    if participant is None:
        raise ExecutionFailure(f"{what} is from {org!r}, which is not a participant", ResultCode.CERTIFICATE_INVALID)
    if participant.state is not EntityState.NORMAL:
        raise ExecutionFailure(f"participant {org!r} is {participant.state.name}", ResultCode.INVALID_STATE)
    if cert.role not in roles:
        raise ExecutionFailure(f"{what} has role {cert.role!r}; expected one of {', '.join(roles)}", ResultCode.CERTIFICATE_INVALID)
    try:
        verify_chain(cert, [participant.ca_certificate], trusted_roots(state), [], at=ctx.block.time, suite=ctx.block.suite)
    except CAError as exc:
        raise ExecutionFailure(f"{what}: {exc}", ResultCode.CERTIFICATE_INVALID) from None
    issuer_fp = fingerprint(ctx, participant.ca_certificate)
    serial = serial_bytes(cert.serial)
    if is_revoked(state, issuer_fp, serial):
        raise ExecutionFailure(f"{what} has been revoked on this ledger", ResultCode.CERTIFICATE_INVALID)
    facts = CertificateFacts(issuer_fp, serial, to_ms(cert.not_before), to_ms(cert.not_after), cert.role or "")
    return cert, participant, facts
