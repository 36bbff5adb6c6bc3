"""Who is calling: API tokens issued against a signature by a registered user's key (the key of its certificate).

A client proves possession of its key once, by signing
`"chain/gateway-token/v1" 0x00 || ledger_id || timestamp_ms (8 bytes, big-endian)`;
the gateway checks the signature, that the key is a registered, active user
of that ledger and that the timestamp is within five minutes, and returns a
bearer token (HMAC under the gateway's secret, bound to the address, ledger
and expiry). Browsers keep the token; programs can ask for a new one at will.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

from chain.crypto import Address, CryptoError, PublicKey, Signature
from chain.gateway.errors import bad_request, unauthorized

TOKEN_DOMAIN = b"chain/gateway-token/v1\x00"
TOKEN_TTL_MS = 3_600_000
CLOCK_SKEW_MS = 300_000


@dataclass(frozen=True)
class Identity:
    """An authenticated caller of one ledger."""

    address: bytes
    ledger: str
    expires_ms: int

    @property
    def text(self) -> str:
        """The address in its text form."""
        return str(Address.decode(self.address))


def token_message(ledger_id: bytes, timestamp_ms: int) -> bytes:
    """What a client signs to get a token."""
    return TOKEN_DOMAIN + ledger_id + timestamp_ms.to_bytes(8, "big")


class TokenIssuer:
    """Issues and checks bearer tokens (stateless: HMAC over address, ledger and expiry)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret or os.urandom(32)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:20]

    def issue(self, address: bytes, ledger: str, now_ms: int | None = None) -> tuple[str, int]:
        """A token for the address and its expiry (ms since 1970)."""
        expires = (now_ms if now_ms is not None else int(time.time() * 1000)) + TOKEN_TTL_MS
        name = ledger.encode()
        payload = len(address).to_bytes(1, "big") + address + len(name).to_bytes(1, "big") + name + expires.to_bytes(8, "big")
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode().rstrip("="), expires

    def check(self, token: str) -> Identity:
        """The identity a token stands for, or 401."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise unauthorized("the bearer token is not valid") from None
        payload, mac = raw[:-20], raw[-20:]
        if len(raw) < 31 or not hmac.compare_digest(mac, self._mac(payload)):
            raise unauthorized("the bearer token is not valid")
        n = payload[0]
        address = payload[1:1 + n]
        m = payload[1 + n]
        ledger = payload[2 + n:2 + n + m].decode()
        expires = int.from_bytes(payload[2 + n + m:], "big")
        if expires < int(time.time() * 1000):
            raise unauthorized("the bearer token has expired; ask for a new one at POST /v1/auth/tokens")
        return Identity(address, ledger, expires)


def verify_token_request(public_key_hex: str, signature_hex: str, ledger_id: bytes, timestamp_ms: int,
                         hash_algorithm: object) -> bytes:
    """The signer's address if the token request's signature and timestamp are good, else 400/401."""
    try:
        key = PublicKey.decode(bytes.fromhex(public_key_hex))
        signature = Signature.decode(bytes.fromhex(signature_hex))
    except (ValueError, CryptoError) as exc:
        raise bad_request(f"public key or signature is malformed: {exc}", "public_key") from None
    now = int(time.time() * 1000)
    if abs(now - timestamp_ms) > CLOCK_SKEW_MS:
        raise unauthorized("timestamp_ms is more than five minutes from the gateway's clock")
    if not key.verify(token_message(ledger_id, timestamp_ms), signature):
        raise unauthorized("the signature does not verify")
    return Address.of(key, hash_algorithm).encode()  # type: ignore[arg-type]
