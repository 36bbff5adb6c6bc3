"""HashDigest: a digest that names its algorithm."""
from __future__ import annotations

from dataclasses import dataclass

from chain.crypto.algorithms import HASHES, Algorithm, split_prefix
from chain.crypto.errors import InvalidDigestError
from chain.crypto.hashing import DIGEST_SIZE, hash_function


@dataclass(frozen=True, slots=True)
class HashDigest:
    """A hash value with its algorithm; encodes as code(2) || digest(32)."""

    algorithm: Algorithm
    value: bytes

    def __post_init__(self) -> None:
        if self.algorithm not in HASHES:
            raise InvalidDigestError(f"{self.algorithm.name} is not a hash algorithm")
        if len(self.value) != DIGEST_SIZE:
            raise InvalidDigestError(f"{self.algorithm.name} digest must be {DIGEST_SIZE} bytes")

    @classmethod
    def of(cls, algorithm: Algorithm, data: bytes) -> HashDigest:
        """Hash data with the given algorithm."""
        return cls(algorithm, hash_function(algorithm)(data))

    def encode(self) -> bytes:
        """Self-describing bytes."""
        return self.algorithm.prefix + self.value

    @classmethod
    def decode(cls, data: bytes) -> HashDigest:
        """Parse self-describing bytes."""
        alg, raw = split_prefix(data, HASHES)
        return cls(alg, raw)

    def hex(self) -> str:
        """Hex of the self-describing bytes."""
        return self.encode().hex()

    @classmethod
    def from_hex(cls, text: str) -> HashDigest:
        """Parse the hex of self-describing bytes."""
        try:
            return cls.decode(bytes.fromhex(text))
        except ValueError:
            raise InvalidDigestError("digest is not valid hex") from None
