"""Console users: who may sign in, for which organisation, in which role (brand, logistics, retailer, regulator)."""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

ROLES = ("brand", "logistics", "retailer", "regulator")
_ITERATIONS = 100_000


@dataclass(frozen=True)
class TraceUser:
    """A console account of one organisation; the password is kept only as a salted PBKDF2 hash."""

    username: str
    org: str
    role: str
    password_hash: str  # "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"

    @classmethod
    def create(cls, username: str, org: str, role: str, password: str) -> TraceUser:
        """A user with a freshly salted password hash."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        salt = os.urandom(16)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
        return cls(username, org, role, f"pbkdf2_sha256${_ITERATIONS}${salt.hex()}${digest.hex()}")

    def check(self, password: str) -> bool:
        """True if the password is this user's."""
        _, iterations, salt, digest = self.password_hash.split("$")
        found = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(found.hex(), digest)
