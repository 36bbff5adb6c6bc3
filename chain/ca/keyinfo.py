"""Bridges between our PublicKey/PrivateKey and the X.509 key encodings of both suites."""
from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chain.ca import oids
from chain.ca.errors import CertificateFormatError
from chain.crypto import Algorithm, CryptoError, CryptoSuite, PrivateKey, PublicKey
from chain.crypto.sm2 import curve as sm2_curve

_P256 = ec.SECP256R1()


def uncompressed_point(public: PublicKey) -> bytes:
    """The 65-byte SEC1 uncompressed point X.509 carries in subjectPublicKey."""
    if public.algorithm is Algorithm.SM2:
        return sm2_curve.uncompressed(*sm2_curve.decompress(public.value))
    return to_cryptography_public(public).public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def public_key_from_point(suite: CryptoSuite, point: bytes) -> PublicKey:
    """Our PublicKey from an X.509 EC point (compressed or uncompressed) of the suite's curve."""
    try:
        if suite.signature_algorithm is Algorithm.SM2:
            return PublicKey(Algorithm.SM2, sm2_curve.compress(*sm2_curve.decompress(point)))
        key = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
        return PublicKey(Algorithm.ECDSA_P256, key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))
    except (CryptoError, ValueError) as exc:
        raise CertificateFormatError(f"the certificate's public key is not a valid {suite.name} point: {exc}") from None


def key_identifier(public: PublicKey) -> bytes:
    """RFC 5280 section 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (an identifier, not a security hash)."""
    return hashlib.sha1(uncompressed_point(public), usedforsecurity=False).digest()


def to_cryptography_public(public: PublicKey) -> ec.EllipticCurvePublicKey:
    """A cryptography P-256 public key of a classic PublicKey."""
    if public.algorithm is not Algorithm.ECDSA_P256:
        raise CertificateFormatError(f"{public.algorithm.name} keys have no cryptography equivalent here")
    return ec.EllipticCurvePublicKey.from_encoded_point(_P256, public.value)


def to_cryptography_private(private: PrivateKey) -> ec.EllipticCurvePrivateKey:
    """A cryptography P-256 private key of a classic PrivateKey."""
    if private.algorithm is not Algorithm.ECDSA_P256:
        raise CertificateFormatError(f"{private.algorithm.name} keys have no cryptography equivalent here")
    return ec.derive_private_key(int.from_bytes(private.value, "big"), _P256)


def curve_oid(public: PublicKey) -> str:
    """The namedCurve OID of a public key."""
    return oids.SM2_CURVE if public.algorithm is Algorithm.SM2 else oids.SECP256R1
