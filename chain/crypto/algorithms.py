"""Algorithm codes: the 2-byte prefix that makes keys, signatures and hashes self-describing."""
from __future__ import annotations

import enum

from chain.crypto.errors import UnknownAlgorithmError

CODE_SIZE = 2


class Algorithm(enum.IntEnum):
    """Stable algorithm codes; the high byte is the class, the low byte the member."""

    SHA256 = 0x1001
    SM3 = 0x1002
    ECDSA_P256 = 0x2001
    SM2 = 0x2002
    AES256_GCM = 0x3001
    SM4_GCM = 0x3002
    ECIES_P256 = 0x4001
    SM2_ENC = 0x4002

    @property
    def prefix(self) -> bytes:
        """The 2-byte big-endian prefix written before the raw value."""
        return self.value.to_bytes(CODE_SIZE, "big")


HASHES = frozenset({Algorithm.SHA256, Algorithm.SM3})
SIGNATURES = frozenset({Algorithm.ECDSA_P256, Algorithm.SM2})
CIPHERS = frozenset({Algorithm.AES256_GCM, Algorithm.SM4_GCM})
PUBLIC_KEY_ENCRYPTION = frozenset({Algorithm.ECIES_P256, Algorithm.SM2_ENC})


def algorithm_from_code(code: int, allowed: frozenset[Algorithm] | None = None) -> Algorithm:
    """Return the Algorithm for a numeric code, optionally restricted to one class."""
    try:
        alg = Algorithm(code)
    except ValueError:
        raise UnknownAlgorithmError(f"unknown algorithm code 0x{code:04x}") from None
    if allowed is not None and alg not in allowed:
        raise UnknownAlgorithmError(f"algorithm {alg.name} (0x{code:04x}) is not allowed here")
    return alg


def split_prefix(data: bytes, allowed: frozenset[Algorithm]) -> tuple[Algorithm, bytes]:
    """Split self-describing bytes into (algorithm, raw value)."""
    if len(data) < CODE_SIZE:
        raise UnknownAlgorithmError("value is shorter than its 2-byte algorithm code")
    code = int.from_bytes(data[:CODE_SIZE], "big")
    return algorithm_from_code(code, allowed), bytes(data[CODE_SIZE:])
