"""Address: the short, checksummed identity derived from a public key."""
from __future__ import annotations

from dataclasses import dataclass

import base58

from chain.crypto.algorithms import HASHES, Algorithm, algorithm_from_code
from chain.crypto.errors import InvalidAddressError, UnknownAlgorithmError
from chain.crypto.hashing import hash_function
from chain.crypto.keys import PublicKey

VERSION = 0x01
HASH_BYTES = 20
SIZE = 1 + 2 + HASH_BYTES


@dataclass(frozen=True, slots=True)
class Address:
    """version(1) || hash code(2) || first 20 bytes of H(encoded public key); text is Base58Check."""

    hash_algorithm: Algorithm
    value: bytes

    def __post_init__(self) -> None:
        if self.hash_algorithm not in HASHES:
            raise InvalidAddressError(f"{self.hash_algorithm.name} is not a hash algorithm")
        if len(self.value) != HASH_BYTES:
            raise InvalidAddressError(f"address hash must be {HASH_BYTES} bytes")

    @classmethod
    def of(cls, public_key: PublicKey, hash_algorithm: Algorithm) -> Address:
        """The address of a public key under a ledger's hash algorithm."""
        return cls(hash_algorithm, hash_function(hash_algorithm)(public_key.encode())[:HASH_BYTES])

    def encode(self) -> bytes:
        """Self-describing bytes."""
        return bytes([VERSION]) + self.hash_algorithm.prefix + self.value

    @classmethod
    def decode(cls, data: bytes) -> Address:
        """Parse self-describing bytes."""
        if len(data) != SIZE:
            raise InvalidAddressError(f"address must be {SIZE} bytes, got {len(data)}")
        if data[0] != VERSION:
            raise InvalidAddressError(f"unknown address version {data[0]}")
        try:
            alg = algorithm_from_code(int.from_bytes(data[1:3], "big"), HASHES)
        except UnknownAlgorithmError as exc:
            raise InvalidAddressError(str(exc)) from None
        return cls(alg, bytes(data[3:]))

    def __str__(self) -> str:
        return base58.b58encode_check(self.encode()).decode("ascii")

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse the Base58Check text form; a typo fails the checksum."""
        try:
            raw = base58.b58decode_check(text.strip())
        except ValueError:
            raise InvalidAddressError(f"{text!r} is not a valid address (bad characters or checksum)") from None
        return cls.decode(raw)
