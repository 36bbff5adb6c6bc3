"""Algorithm code -> implementation; the one place that wires codes to code."""
from __future__ import annotations

import functools

from chain.crypto.algorithms import Algorithm
from chain.crypto.ciphers import Aes256Gcm, Sm4Gcm
from chain.crypto.errors import UnknownAlgorithmError
from chain.crypto.interfaces import CipherAPI, PublicKeyEncryptionAPI, SignatureSchemeAPI
from chain.crypto.p256 import EciesP256, EcdsaP256
from chain.crypto.sm2.scheme import Sm2Encryption, Sm2Signature


@functools.cache
def signature_scheme(alg: Algorithm) -> SignatureSchemeAPI:
    """The signature implementation of an algorithm code."""
    if alg is Algorithm.ECDSA_P256:
        return EcdsaP256()
    if alg is Algorithm.SM2:
        return Sm2Signature()
    raise UnknownAlgorithmError(f"{alg.name} is not a signature algorithm")


@functools.cache
def cipher(alg: Algorithm) -> CipherAPI:
    """The AEAD implementation of an algorithm code."""
    if alg is Algorithm.AES256_GCM:
        return Aes256Gcm()
    if alg is Algorithm.SM4_GCM:
        return Sm4Gcm()
    raise UnknownAlgorithmError(f"{alg.name} is not a cipher")


@functools.cache
def public_key_encryption(alg: Algorithm) -> PublicKeyEncryptionAPI:
    """The public-key encryption implementation of an algorithm code."""
    if alg is Algorithm.ECIES_P256:
        return EciesP256()
    if alg is Algorithm.SM2_ENC:
        return Sm2Encryption()
    raise UnknownAlgorithmError(f"{alg.name} is not a public-key encryption algorithm")
