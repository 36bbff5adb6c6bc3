"""Object identifiers the consortium PKI uses, and their registration with asn1crypto.

asn1crypto does not know the Chinese SM algorithms by name. This is the one
module that teaches it (idempotently, at import), so parsed structures show
`sm2` / `sm2_sm3` instead of dotted strings; every comparison elsewhere uses the
dotted OIDs below, so nothing depends on the names.
"""
from __future__ import annotations

from asn1crypto import algos, keys

from chain.crypto import CLASSIC, SM, CryptoSuite

# Public key algorithm and named curves (RFC 5480; GM/T 0006).
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
SECP256R1 = "1.2.840.10045.3.1.7"
SM2_CURVE = "1.2.156.10197.1.301"

# Signature algorithms (RFC 5758; GM/T 0006 / GM/T 0015).
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
SM2_WITH_SM3 = "1.2.156.10197.1.501"

# Extended key usages (RFC 5280 section 4.2.1.12).
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"

# Name attributes (X.520).
COMMON_NAME = "2.5.4.3"
ORGANIZATION = "2.5.4.10"
ORGANIZATIONAL_UNIT = "2.5.4.11"

# Suite of a certificate's signature algorithm / of its public key's curve.
SIGNATURE_SUITES: dict[str, CryptoSuite] = {ECDSA_WITH_SHA256: CLASSIC, SM2_WITH_SM3: SM}
CURVE_SUITES: dict[str, CryptoSuite] = {SECP256R1: CLASSIC, SM2_CURVE: SM}
SIGNATURE_OIDS: dict[str, str] = {CLASSIC.name: ECDSA_WITH_SHA256, SM.name: SM2_WITH_SM3}
CURVE_OIDS: dict[str, str] = {CLASSIC.name: SECP256R1, SM.name: SM2_CURVE}


def _register() -> None:
    """Teach asn1crypto the SM2 curve and the SM2-with-SM3 signature algorithm (idempotent)."""
    if SM2_CURVE not in keys.NamedCurve._map:
        keys.NamedCurve.register("sm2", SM2_CURVE, 32)
    ids = algos.SignedDigestAlgorithmId
    if SM2_WITH_SM3 not in ids._map:
        ids._map[SM2_WITH_SM3] = "sm2_sm3"
        if ids._reverse_map is not None:
            ids._reverse_map["sm2_sm3"] = SM2_WITH_SM3


_register()
