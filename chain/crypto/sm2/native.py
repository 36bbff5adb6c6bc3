"""Native SM2 backend on tongsuopy (Tongsuo, OpenSSL's SM fork, compiled in).

Key generation, signing and encryption use tongsuopy's public API. Verification,
the hot path of a ledger, goes straight to the same compiled library through
ctypes: the curve group carries a precomputed generator table (which tongsuopy
does not expose), and each public key's EC_KEY and Z_A digest are cached, so a
verification costs one SM3 and one double-scalar multiplication.
"""
from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections import OrderedDict
from typing import Any

from asn1crypto import core as asn1
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tongsuopy.backends import _tongsuo
from tongsuopy.backends.tongsuo import backend as _ts
from tongsuopy.crypto import hashes as ts_hashes
from tongsuopy.crypto import serialization as ts_ser
from tongsuopy.crypto.asymciphers import ec as ts_ec
from tongsuopy.crypto.exceptions import InvalidSignature

from chain.crypto.errors import DecryptionError, InvalidKeyError
from chain.crypto.hashing import sm3
from chain.crypto.sm2 import curve
from chain.crypto.sm2.interfaces import Sm2BackendAPI

log = logging.getLogger(__name__)

_NID_SM2 = 1172
_KEY_CACHE_SIZE = 8192
_SIGN_ALG = ts_ec.ECDSA(ts_hashes.SM3())


class _Sm2Cipher(asn1.Sequence):
    """GM/T 0009 SM2Cipher: the DER form OpenSSL produces and consumes."""

    _fields = [
        ("x", asn1.Integer),
        ("y", asn1.Integer),
        ("hash", asn1.OctetString),
        ("ciphertext", asn1.OctetString),
    ]


class _FastVerifier:
    """sm2_verify over cached EC_KEYs that share a group with a precomputed generator table."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(_tongsuo.__file__)
        vp = ctypes.c_void_p
        lib.EC_GROUP_new_by_curve_name.restype = vp
        lib.EC_GROUP_precompute_mult.argtypes = [vp, vp]
        lib.EC_KEY_new.restype = vp
        lib.EC_KEY_set_group.argtypes = [vp, vp]
        lib.EC_KEY_set_public_key.argtypes = [vp, vp]
        lib.EC_KEY_free.argtypes = [vp]
        lib.EC_POINT_new.restype = vp
        lib.EC_POINT_new.argtypes = [vp]
        lib.EC_POINT_free.argtypes = [vp]
        lib.EC_POINT_oct2point.argtypes = [vp, vp, ctypes.c_char_p, ctypes.c_size_t, vp]
        lib.sm2_verify.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, vp]
        self._lib = lib
        self._group = lib.EC_GROUP_new_by_curve_name(_NID_SM2)
        if not self._group or lib.EC_GROUP_precompute_mult(self._group, None) != 1:
            raise RuntimeError("could not build the SM2 group with a precomputed generator")
        self._keys: OrderedDict[bytes, tuple[int, bytes]] = OrderedDict()
        self.cache_size = _KEY_CACHE_SIZE
        self._lock = threading.Lock()

    def _key_locked(self, public: bytes) -> tuple[int, bytes]:
        """The cached (EC_KEY, Z_A) of a public key; the caller holds the lock."""
        hit = self._keys.get(public)
        if hit is not None:
            self._keys.move_to_end(public)
            return hit
        x, y = curve.decompress(public)
        lib = self._lib
        key = lib.EC_KEY_new()
        point = lib.EC_POINT_new(self._group)
        encoded = curve.uncompressed(x, y)
        ok = (
            key
            and point
            and lib.EC_KEY_set_group(key, self._group) == 1
            and lib.EC_POINT_oct2point(self._group, point, encoded, len(encoded), None) == 1
            and lib.EC_KEY_set_public_key(key, point) == 1
        )
        if point:
            lib.EC_POINT_free(point)
        if not ok:
            if key:
                lib.EC_KEY_free(key)
            raise InvalidKeyError("SM2 public key was refused by the native backend")
        entry = (key, curve.z_digest(x, y))
        self._keys[public] = entry
        while len(self._keys) > self.cache_size:
            _, (old, _z) = self._keys.popitem(last=False)
            lib.EC_KEY_free(old)
        return entry

    def verify(self, public: bytes, message: bytes, der: bytes) -> bool:
        # One lock hold covers lookup, insertion, eviction and use, so no EC_KEY is
        # ever freed while another thread verifies with it, and none is created twice.
        with self._lock:
            key, z = self._key_locked(public)
            return self._lib.sm2_verify(sm3(z + message), 32, der, len(der), key) == 1


@functools.lru_cache(maxsize=256)
def _private_key(private: bytes) -> Any:
    d = int.from_bytes(private, "big")
    curve.check_scalar(d)
    return ts_ec.derive_private_key(d, ts_ec.SM2())


@functools.lru_cache(maxsize=1024)
def _public_key(public: bytes) -> Any:
    x, y = curve.decompress(public)
    return ts_ec.EllipticCurvePublicKey.from_encoded_point(ts_ec.SM2(), curve.uncompressed(x, y))


def _pkey_crypt(pkey: Any, data: bytes, encrypting: bool) -> bytes:
    lib, ffi = _ts._lib, _ts._ffi
    ctx = ffi.gc(lib.EVP_PKEY_CTX_new(pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
    init = lib.EVP_PKEY_encrypt_init if encrypting else lib.EVP_PKEY_decrypt_init
    run = lib.EVP_PKEY_encrypt if encrypting else lib.EVP_PKEY_decrypt
    size = ffi.new("size_t *")
    if init(ctx) != 1 or run(ctx, ffi.NULL, size, data, len(data)) != 1:
        _ts._consume_errors()
        raise DecryptionError("the native SM2 backend refused the input")
    out = ffi.new("unsigned char[]", max(size[0], 1))
    if run(ctx, out, size, data, len(data)) != 1:
        _ts._consume_errors()
        raise DecryptionError("SM2 decryption failed (wrong key or corrupted ciphertext)")
    return bytes(ffi.buffer(out)[: size[0]])


class NativeSm2Backend(Sm2BackendAPI):
    """SM2 through tongsuopy's compiled Tongsuo library."""

    name = "native"

    def __init__(self) -> None:
        try:
            self._fast: _FastVerifier | None = _FastVerifier()
        except (OSError, AttributeError, RuntimeError) as exc:  # symbols missing in another build
            log.warning("SM2 fast verification unavailable, using tongsuopy's API: %s", exc)
            self._fast = None

    def generate(self) -> bytes:
        key = ts_ec.generate_private_key(ts_ec.SM2())
        return key.private_numbers().private_value.to_bytes(curve.COORD, "big")

    def public_from_private(self, private: bytes) -> bytes:
        pub = _private_key(private).public_key()
        return pub.public_bytes(ts_ser.Encoding.X962, ts_ser.PublicFormat.CompressedPoint)

    def sign(self, private: bytes, message: bytes) -> tuple[int, int]:
        der = _private_key(private).sign(message, _SIGN_ALG)
        return decode_dss_signature(bytes(der))

    def verify(self, public: bytes, message: bytes, r: int, s: int) -> bool:
        if not (1 <= r < curve.N and 1 <= s < curve.N):
            return False
        der = encode_dss_signature(r, s)
        if self._fast is not None:
            return self._fast.verify(public, message, der)
        try:
            _public_key(public).verify(der, message, _SIGN_ALG)
            return True
        except InvalidSignature:
            return False

    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        curve.check_plaintext(plaintext)
        while True:
            der = _pkey_crypt(_public_key(public)._evp_pkey, plaintext, encrypting=True)
            parsed = _Sm2Cipher.load(der)
            c2 = parsed["ciphertext"].native
            # GB/T 32918.4 A5: an all-zero key stream t means another k. OpenSSL does not check it, and
            # t = C2 xor M, so t is all zero exactly when C2 == M (1 in 256 for a one-byte message); a
            # conforming decryptor refuses such a ciphertext (B4), so draw again.
            if c2 != plaintext:
                break
        x, y = parsed["x"].native, parsed["y"].native
        return curve.uncompressed(x, y) + parsed["hash"].native + c2

    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 65 + 32 + 1 or ciphertext[0] != 4:
            raise DecryptionError("SM2 ciphertext is too short or C1 is not an uncompressed point")
        try:
            x, y = curve.decompress(ciphertext[:65])
        except InvalidKeyError as exc:
            raise DecryptionError(f"SM2 ciphertext C1 is invalid: {exc}") from None
        der = _Sm2Cipher(
            {"x": x, "y": y, "hash": ciphertext[65:97], "ciphertext": ciphertext[97:]}
        ).dump()
        return _pkey_crypt(_private_key(private)._evp_pkey, der, encrypting=False)
