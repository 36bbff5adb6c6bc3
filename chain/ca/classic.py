"""Classic suite X.509: certificates and CRLs built and signed with `cryptography` (ECDSA P-256, SHA-256)."""
from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID, ObjectIdentifier

from chain.ca.keyinfo import to_cryptography_private, to_cryptography_public
from chain.ca.names import DistinguishedName
from chain.ca.profile import CertificateProfile, CrlProfile, RevocationReason
from chain.crypto import PrivateKey, PublicKey

_SIG = ec.ECDSA(hashes.SHA256())
_REASON_FLAGS = {
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.REMOVE_FROM_CRL: x509.ReasonFlags.remove_from_crl,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


def _name(dn: DistinguishedName) -> x509.Name:
    attrs = [
        x509.NameAttribute(oid, value)
        for oid, value in (
            (NameOID.ORGANIZATION_NAME, dn.organisation),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, dn.role),
            (NameOID.COMMON_NAME, dn.common_name),
        )
        if value is not None
    ]
    return x509.Name(attrs)


def _key_usage(names: frozenset[str]) -> x509.KeyUsage:
    has = names.__contains__
    agreement = has("key_agreement")
    return x509.KeyUsage(
        digital_signature=has("digital_signature"),
        content_commitment=has("non_repudiation"),
        key_encipherment=has("key_encipherment"),
        data_encipherment=has("data_encipherment"),
        key_agreement=agreement,
        key_cert_sign=has("key_cert_sign"),
        crl_sign=has("crl_sign"),
        encipher_only=agreement and has("encipher_only"),
        decipher_only=agreement and has("decipher_only"),
    )


def build_certificate(profile: CertificateProfile, issuer_key: PrivateKey) -> bytes:
    """DER of the certificate described by profile, signed ECDSA-with-SHA256 by issuer_key."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(profile.subject))
        .issuer_name(_name(profile.issuer))
        .public_key(to_cryptography_public(profile.public_key))
        .serial_number(profile.serial)
        .not_valid_before(profile.not_before)
        .not_valid_after(profile.not_after)
        .add_extension(x509.BasicConstraints(ca=profile.is_ca, path_length=profile.path_length if profile.is_ca else None), critical=True)
        .add_extension(_key_usage(profile.key_usage), critical=True)
    )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ObjectIdentifier(oid) for oid in profile.extended_key_usage]), critical=False
        )
    builder = builder.add_extension(x509.SubjectKeyIdentifier(profile.subject_key_id), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier(profile.authority_key_id, None, None), critical=False
    )
    if profile.dns_names or profile.ip_addresses:
        general: list[x509.GeneralName] = [x509.DNSName(d) for d in profile.dns_names]
        general += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in profile.ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    cert = builder.sign(to_cryptography_private(issuer_key), hashes.SHA256())
    return cert.public_bytes(Encoding.DER)


def build_crl(profile: CrlProfile, issuer_key: PrivateKey) -> bytes:
    """DER of the CRL described by profile, signed ECDSA-with-SHA256 by issuer_key."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(_name(profile.issuer))
        .last_update(profile.this_update)
        .next_update(profile.next_update)
        .add_extension(x509.AuthorityKeyIdentifier(profile.authority_key_id, None, None), critical=False)
        .add_extension(x509.CRLNumber(profile.number), critical=False)
    )
    for entry in profile.entries:
        revoked = x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
        if entry.reason is not RevocationReason.UNSPECIFIED:
            revoked = revoked.add_extension(x509.CRLReason(_REASON_FLAGS[entry.reason]), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    crl = builder.sign(to_cryptography_private(issuer_key), hashes.SHA256())
    return crl.public_bytes(Encoding.DER)


def verify_signature(public: PublicKey, tbs: bytes, signature: bytes) -> bool:
    """True iff signature (DER r,s) is an ECDSA-SHA256 signature of tbs by public (high S accepted, as X.509 allows)."""
    try:
        to_cryptography_public(public).verify(signature, tbs, _SIG)
        return True
    except (InvalidSignature, ValueError):
        return False
