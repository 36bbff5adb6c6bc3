"""Classic suite asymmetric algorithms: ECDSA P-256/SHA-256 (low-S) and ECIES over P-256."""
from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chain.crypto.algorithms import Algorithm
from chain.crypto.errors import DecryptionError, InvalidKeyError
from chain.crypto.interfaces import PublicKeyEncryptionAPI, SignatureSchemeAPI

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_N = N // 2
_CURVE = ec.SECP256R1()
_ECDSA = ec.ECDSA(hashes.SHA256())
_ECIES_INFO = b"chain/ecies-p256/v1"
_ZERO_NONCE = bytes(12)  # each message has its own ephemeral key, so a fixed nonce is safe


@functools.lru_cache(maxsize=8192)
def _public_key(public: bytes) -> ec.EllipticCurvePublicKey:
    if len(public) != 33 or public[0] not in (2, 3):
        raise InvalidKeyError("P-256 public key must be a 33-byte SEC1 compressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, public)
    except ValueError:
        raise InvalidKeyError("P-256 public key is not a point on the curve") from None


@functools.lru_cache(maxsize=256)
def _private_key(private: bytes) -> ec.EllipticCurvePrivateKey:
    if len(private) != 32:
        raise InvalidKeyError("P-256 private key must be 32 bytes")
    d = int.from_bytes(private, "big")
    if not 1 <= d < N:
        raise InvalidKeyError("P-256 private key is out of range [1, n-1]")
    return ec.derive_private_key(d, _CURVE)


def _compressed(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


class EcdsaP256(SignatureSchemeAPI):
    """ECDSA over NIST P-256 with SHA-256; signatures are normalised to low S."""

    algorithm = Algorithm.ECDSA_P256

    def generate(self) -> bytes:
        return ec.generate_private_key(_CURVE).private_numbers().private_value.to_bytes(32, "big")

    def public_from_private(self, private: bytes) -> bytes:
        return _compressed(_private_key(private).public_key())

    def validate_public(self, public: bytes) -> None:
        _public_key(public)

    def sign(self, private: bytes, message: bytes) -> bytes:
        r, s = decode_dss_signature(_private_key(private).sign(message, _ECDSA))
        if s > HALF_N:
            s = N - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (1 <= r < N and 1 <= s <= HALF_N):
            return False
        try:
            _public_key(public).verify(encode_dss_signature(r, s), message, _ECDSA)
            return True
        except (InvalidSignature, InvalidKeyError):
            return False


class EciesP256(PublicKeyEncryptionAPI):
    """ECIES: ephemeral P-256 ECDH, HKDF-SHA256, AES-256-GCM; output eph_pub(33) || ct || tag."""

    algorithm = Algorithm.ECIES_P256
    key_algorithm = Algorithm.ECDSA_P256

    @staticmethod
    def _key(shared: bytes, eph: bytes, recipient: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph + recipient, info=_ECIES_INFO)
        return hkdf.derive(shared)

    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        recipient = _public_key(public)
        eph = ec.generate_private_key(_CURVE)
        eph_pub = _compressed(eph.public_key())
        key = self._key(eph.exchange(ec.ECDH(), recipient), eph_pub, public)
        return eph_pub + AESGCM(key).encrypt(_ZERO_NONCE, plaintext, None)

    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 33 + 16:
            raise DecryptionError("ECIES ciphertext is too short")
        me = _private_key(private)
        try:
            eph = _public_key(ciphertext[:33])
        except InvalidKeyError:
            raise DecryptionError("ECIES ephemeral key is not a valid point") from None
        key = self._key(me.exchange(ec.ECDH(), eph), ciphertext[:33], _compressed(me.public_key()))
        try:
            return AESGCM(key).decrypt(_ZERO_NONCE, ciphertext[33:], None)
        except InvalidTag:
            raise DecryptionError("ECIES ciphertext failed authentication (wrong key or corrupted)") from None
