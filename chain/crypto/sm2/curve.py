"""SM2 recommended curve parameters and the point arithmetic both backends need outside OpenSSL."""
from __future__ import annotations

import functools

from chain.crypto.errors import CryptoError, InvalidKeyError
from chain.crypto.hashing import sm3

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

# GM/T 0009 default signer ID, used whenever the signer states none.
DEFAULT_ID = b"1234567812345678"
COORD = 32


@functools.lru_cache(maxsize=8192)
def decompress(point: bytes) -> tuple[int, int]:
    """Affine (x, y) of a SEC1 compressed or uncompressed SM2 point; refuses points off the curve."""
    if len(point) == 33 and point[0] in (2, 3):
        x = int.from_bytes(point[1:], "big")
        if x >= P:
            raise InvalidKeyError("SM2 point x coordinate is out of range")
        rhs = (pow(x, 3, P) + A * x + B) % P
        y = pow(rhs, (P + 1) // 4, P)  # P = 3 mod 4
        if y * y % P != rhs:
            raise InvalidKeyError("SM2 point is not on the curve")
        if (y & 1) != (point[0] & 1):
            y = P - y
        return x, y
    if len(point) == 65 and point[0] == 4:
        x = int.from_bytes(point[1:33], "big")
        y = int.from_bytes(point[33:], "big")
        if x >= P or y >= P or (y * y - (pow(x, 3, P) + A * x + B)) % P != 0:
            raise InvalidKeyError("SM2 point is not on the curve")
        return x, y
    raise InvalidKeyError("SM2 point must be 33 bytes compressed or 65 bytes uncompressed SEC1")


def compress(x: int, y: int) -> bytes:
    """SEC1 compressed encoding of an affine point."""
    return bytes([2 | (y & 1)]) + x.to_bytes(COORD, "big")


def uncompressed(x: int, y: int) -> bytes:
    """SEC1 uncompressed encoding of an affine point."""
    return b"\x04" + x.to_bytes(COORD, "big") + y.to_bytes(COORD, "big")


def check_scalar(d: int) -> None:
    """Refuse a private scalar outside [1, n-2] (GB/T 32918.1 section 6.1)."""
    if not 1 <= d <= N - 2:
        raise InvalidKeyError("SM2 private key is out of range [1, n-2]")


def z_digest(x: int, y: int, signer_id: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 section 5.5."""
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    parts = [entl, signer_id] + [v.to_bytes(COORD, "big") for v in (A, B, GX, GY, x, y)]
    return sm3(b"".join(parts))


def check_plaintext(plaintext: bytes) -> None:
    """Refuse an empty plaintext: GB/T 32918.4 defines SM2 encryption for klen > 0 only."""
    if not plaintext:
        raise CryptoError("SM2 encryption needs at least one byte of plaintext", code="empty_plaintext")
