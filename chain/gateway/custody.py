"""Keys the gateway holds for its users: encrypted keystore files, decrypted into memory only, never written in clear."""
from __future__ import annotations

import logging
from pathlib import Path

from chain.crypto import Address, CryptoSuite, PrivateKey
from chain.crypto.keystore import load_key

log = logging.getLogger(__name__)


class Custody:
    """Private keys by the address they have under a suite's hash."""

    def __init__(self, keys: list[PrivateKey] | None = None) -> None:
        self.keys = list(keys or [])
        self._by_suite: dict[str, dict[bytes, PrivateKey]] = {}

    @classmethod
    def from_directory(cls, directory: Path, password: bytes) -> Custody:
        """Every *.key keystore file in a directory, decrypted with the gateway's password."""
        keys = [load_key(path, password) for path in sorted(directory.glob("*.key"))]
        log.info("custody: %d keys from %s", len(keys), directory)
        return cls(keys)

    def key_for(self, address: bytes, suite: CryptoSuite) -> PrivateKey | None:
        """The custodied key with this address on a ledger of this suite, if any."""
        table = self._by_suite.get(suite.name)
        if table is None:
            table = self._by_suite[suite.name] = {}
            prefix = suite.signature_algorithm.prefix
            for key in self.keys:
                public = key.public_key()
                if public.encode()[:2] == prefix:
                    table[Address.of(public, suite.hash_algorithm).encode()] = key
        return table.get(address)
