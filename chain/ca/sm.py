"""SM suite X.509 (GM/T 0015): certificates and CRLs built with asn1crypto and signed SM2-with-SM3.

The subject key is id-ecPublicKey with namedCurve SM2 (1.2.156.10197.1.301),
the signature algorithm SM2-with-SM3 (1.2.156.10197.1.501, no parameters), and
the signature value the DER SEQUENCE {r, s} of our PrivateKey.sign over the DER
TBS bytes (SM3 with Z_A of the default ID "1234567812345678").
"""
from __future__ import annotations

from datetime import datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from chain.ca import oids
from chain.ca.keyinfo import uncompressed_point
from chain.ca.profile import CertificateProfile, CrlProfile, RevocationReason
from chain.crypto import Algorithm, PrivateKey, PublicKey, Signature

# UTCTime covers 1950-2049; later times must be GeneralizedTime (RFC 5280 section 4.1.2.5).
_UTC_TIME_LIMIT = 2050
_CRL_EXT = asn1_crl.TBSCertListExtension
_ENTRY_EXT = asn1_crl.CRLEntryExtension


def _time(moment: datetime) -> asn1_x509.Time:
    kind = "utc_time" if moment.year < _UTC_TIME_LIMIT else "general_time"
    return asn1_x509.Time(name=kind, value=moment)


def _algorithm() -> asn1_x509.SignedDigestAlgorithm:
    return asn1_x509.SignedDigestAlgorithm({"algorithm": oids.SM2_WITH_SM3})


def _spki(public: PublicKey) -> asn1_keys.PublicKeyInfo:
    return asn1_keys.PublicKeyInfo({
        "algorithm": asn1_keys.PublicKeyAlgorithm({
            "algorithm": oids.ID_EC_PUBLIC_KEY,
            "parameters": asn1_keys.ECDomainParameters(name="named", value=oids.SM2_CURVE),
        }),
        "public_key": uncompressed_point(public),
    })


def _extension(name: str, value: object, critical: bool, kind: type = asn1_x509.Extension) -> object:
    return kind({"extn_id": name, "critical": critical, "extn_value": value})


def _sign(tbs_der: bytes, issuer_key: PrivateKey) -> bytes:
    if issuer_key.algorithm is not Algorithm.SM2:
        raise ValueError("the SM suite signs with SM2 keys only")
    raw = issuer_key.sign(tbs_der).value
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def build_certificate(profile: CertificateProfile, issuer_key: PrivateKey) -> bytes:
    """DER of the certificate described by profile, signed SM2-with-SM3 by issuer_key."""
    constraints: dict[str, object] = {"ca": profile.is_ca}
    if profile.is_ca and profile.path_length is not None:
        constraints["path_len_constraint"] = profile.path_length
    extensions = [
        _extension("basic_constraints", constraints, True),
        _extension("key_usage", set(profile.key_usage), True),
    ]
    if profile.extended_key_usage:
        extensions.append(_extension("extended_key_usage", list(profile.extended_key_usage), False))
    extensions.append(_extension("key_identifier", profile.subject_key_id, False))
    extensions.append(_extension("authority_key_identifier", {"key_identifier": profile.authority_key_id}, False))
    if profile.dns_names or profile.ip_addresses:
        general = [asn1_x509.GeneralName(name="dns_name", value=d) for d in profile.dns_names]
        general += [asn1_x509.GeneralName(name="ip_address", value=ip) for ip in profile.ip_addresses]
        extensions.append(_extension("subject_alt_name", general, False))
    tbs = asn1_x509.TbsCertificate({
        "version": "v3",
        "serial_number": profile.serial,
        "signature": _algorithm(),
        "issuer": profile.issuer.to_asn1(),
        "validity": {"not_before": _time(profile.not_before), "not_after": _time(profile.not_after)},
        "subject": profile.subject.to_asn1(),
        "subject_public_key_info": _spki(profile.public_key),
        "extensions": extensions,
    })
    tbs_der = tbs.dump()
    cert = asn1_x509.Certificate({
        "tbs_certificate": tbs,
        "signature_algorithm": _algorithm(),
        "signature_value": _sign(tbs_der, issuer_key),
    })
    return cert.dump()


def build_crl(profile: CrlProfile, issuer_key: PrivateKey) -> bytes:
    """DER of the CRL described by profile, signed SM2-with-SM3 by issuer_key."""
    tbs_fields: dict[str, object] = {
        "version": "v2",
        "signature": _algorithm(),
        "issuer": profile.issuer.to_asn1(),
        "this_update": _time(profile.this_update),
        "next_update": _time(profile.next_update),
        "crl_extensions": [
            _extension("authority_key_identifier", {"key_identifier": profile.authority_key_id}, False, _CRL_EXT),
            _extension("crl_number", profile.number, False, _CRL_EXT),
        ],
    }
    if profile.entries:  # RFC 5280 section 5.1.2.6: absent, not empty, when nothing is revoked
        revoked = []
        for entry in profile.entries:
            item: dict[str, object] = {"user_certificate": entry.serial, "revocation_date": _time(entry.revoked_at)}
            if entry.reason is not RevocationReason.UNSPECIFIED:
                item["crl_entry_extensions"] = [_extension("crl_reason", entry.reason.asn1_name, False, _ENTRY_EXT)]
            revoked.append(asn1_crl.RevokedCertificate(item))
        tbs_fields["revoked_certificates"] = revoked
    tbs = asn1_crl.TbsCertList(tbs_fields)
    tbs_der = tbs.dump()
    crl = asn1_crl.CertificateList({
        "tbs_cert_list": tbs,
        "signature_algorithm": _algorithm(),
        "signature": _sign(tbs_der, issuer_key),
    })
    return crl.dump()


def verify_signature(public: PublicKey, tbs: bytes, signature: bytes) -> bool:
    """True iff signature (DER r,s) is an SM2-with-SM3 signature of tbs by public, via our PublicKey.verify."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return False
    if encode_dss_signature(r, s) != signature or not (0 < r < 2**256 and 0 < s < 2**256):
        return False
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return public.verify(tbs, Signature(Algorithm.SM2, raw))
