"""Pure-Python SM2 reference backend on gmssl's curve arithmetic.

gmssl is slow but independent of OpenSSL, which is what a reference is for. It
has sharp edges this wrapper closes: it draws nonces from `random` (we always
supply k from `secrets`), it strips "04" with `str.lstrip` (we set the key
attribute directly), it skips the r/s range checks on verify and the C3 check
on decrypt (we do both), and it returns None instead of retrying a bad k.
"""
from __future__ import annotations

import hmac
import secrets

from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3

from chain.crypto.errors import DecryptionError
from chain.crypto.sm2 import curve
from chain.crypto.sm2.interfaces import Sm2BackendAPI

_HEX = 2 * curve.COORD


def _new_engine(private: bytes | None = None, public_xy: tuple[int, int] | None = None) -> gmssl_sm2.CryptSM2:
    engine = gmssl_sm2.CryptSM2(private_key="", public_key="", mode=1)
    engine.private_key = private.hex() if private is not None else ""
    engine.public_key = "%064x%064x" % public_xy if public_xy is not None else ""
    return engine


def _random_scalar() -> int:
    return 1 + secrets.randbelow(curve.N - 2)


def _kdf(xy_hex: str, length: int) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_kdf(xy_hex.encode(), length)) if length else b""


def _sm3(data: bytes) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(data)))


class ReferenceSm2Backend(Sm2BackendAPI):
    """SM2 in pure Python (gmssl); the yardstick the native backend is tested against."""

    name = "reference"

    def generate(self) -> bytes:
        return _random_scalar().to_bytes(curve.COORD, "big")

    def public_from_private(self, private: bytes) -> bytes:
        d = int.from_bytes(private, "big")
        curve.check_scalar(d)
        xy = _new_engine()._kg(d, "%064x%064x" % (curve.GX, curve.GY))
        return curve.compress(int(xy[:_HEX], 16), int(xy[_HEX:], 16))

    def sign(self, private: bytes, message: bytes) -> tuple[int, int]:
        return self.sign_with_k(private, message, None)

    def sign_with_k(self, private: bytes, message: bytes, k: int | None) -> tuple[int, int]:
        """Sign with a given nonce (known-answer tests) or a fresh secret one."""
        d = int.from_bytes(private, "big")
        curve.check_scalar(d)
        x, y = curve.decompress(self.public_from_private(private))
        engine = _new_engine(private, (x, y))
        digest = bytes.fromhex(engine._sm3_z(message))
        while True:
            nonce = k if k is not None else _random_scalar()
            sig = engine.sign(digest, "%064x" % nonce)
            if sig is not None:
                return int(sig[:_HEX], 16), int(sig[_HEX:], 16)
            if k is not None:
                raise ValueError("the given k yields an invalid signature")

    def verify(self, public: bytes, message: bytes, r: int, s: int) -> bool:
        if not (1 <= r < curve.N and 1 <= s < curve.N):
            return False
        x, y = curve.decompress(public)
        engine = _new_engine(None, (x, y))
        digest = bytes.fromhex(engine._sm3_z(message))
        return bool(engine.verify("%064x%064x" % (r, s), digest))

    def encrypt(self, public: bytes, plaintext: bytes) -> bytes:
        return self.encrypt_with_k(public, plaintext, None)

    def encrypt_with_k(self, public: bytes, plaintext: bytes, k: int | None) -> bytes:
        """SM2 encryption (GB/T 32918.4, C1C3C2) with a given or fresh nonce."""
        curve.check_plaintext(plaintext)
        x, y = curve.decompress(public)
        engine = _new_engine(None, (x, y))
        while True:
            nonce = k if k is not None else _random_scalar()
            c1 = engine._kg(nonce, "%064x%064x" % (curve.GX, curve.GY))
            xy2 = engine._kg(nonce, engine.public_key)
            t = _kdf(xy2, len(plaintext))
            if not any(t):
                if k is not None:
                    raise ValueError("the given k yields an all-zero key stream")
                continue
            c2 = bytes(a ^ b for a, b in zip(plaintext, t))
            x2, y2 = bytes.fromhex(xy2[:_HEX]), bytes.fromhex(xy2[_HEX:])
            c3 = _sm3(x2 + plaintext + y2)
            return b"\x04" + bytes.fromhex(c1) + c3 + c2

    def decrypt(self, private: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 65 + 32 + 1 or ciphertext[0] != 4:
            raise DecryptionError("SM2 ciphertext is too short or C1 is not an uncompressed point")
        try:
            curve.decompress(ciphertext[:65])
        except Exception as exc:
            raise DecryptionError(f"SM2 ciphertext C1 is invalid: {exc}") from None
        d = int.from_bytes(private, "big")
        curve.check_scalar(d)
        engine = _new_engine(private)
        xy2 = engine._kg(d, ciphertext[1:65].hex())
        c3, c2 = ciphertext[65:97], ciphertext[97:]
        t = _kdf(xy2, len(c2))
        if not any(t):
            raise DecryptionError("SM2 key stream is all zero")
        plaintext = bytes(a ^ b for a, b in zip(c2, t))
        x2, y2 = bytes.fromhex(xy2[:_HEX]), bytes.fromhex(xy2[_HEX:])
        if not hmac.compare_digest(_sm3(x2 + plaintext + y2), c3):
            raise DecryptionError("SM2 ciphertext failed its C3 integrity check")
        return plaintext
