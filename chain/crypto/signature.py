"""Signature: signature bytes that name their algorithm."""
from __future__ import annotations

from dataclasses import dataclass

from chain.crypto.algorithms import SIGNATURES, Algorithm, split_prefix
from chain.crypto.errors import InvalidSignatureEncodingError, UnknownAlgorithmError

SIGNATURE_SIZE = 64


@dataclass(frozen=True, slots=True)
class Signature:
    """A signature with its algorithm; encodes as code(2) || r(32) || s(32)."""

    algorithm: Algorithm
    value: bytes

    def __post_init__(self) -> None:
        if self.algorithm not in SIGNATURES:
            raise InvalidSignatureEncodingError(f"{self.algorithm.name} is not a signature algorithm")
        if len(self.value) != SIGNATURE_SIZE:
            raise InvalidSignatureEncodingError(f"{self.algorithm.name} signature must be {SIGNATURE_SIZE} bytes")

    def encode(self) -> bytes:
        """Self-describing bytes."""
        return self.algorithm.prefix + self.value

    @classmethod
    def decode(cls, data: bytes) -> Signature:
        """Parse self-describing bytes."""
        try:
            alg, raw = split_prefix(data, SIGNATURES)
        except UnknownAlgorithmError as exc:
            raise InvalidSignatureEncodingError(str(exc)) from None
        return cls(alg, raw)

    def hex(self) -> str:
        """Hex of the self-describing bytes."""
        return self.encode().hex()
