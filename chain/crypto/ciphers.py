"""AEAD ciphers: AES-256-GCM (classic) and SM4-GCM (sm, RFC 8998), both through OpenSSL."""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chain.crypto.algorithms import Algorithm
from chain.crypto.errors import DecryptionError, InvalidKeyError
from chain.crypto.interfaces import CipherAPI


class _GcmBase(CipherAPI):
    def _check(self, key: bytes, nonce: bytes) -> None:
        if len(key) != self.key_size:
            raise InvalidKeyError(f"{self.algorithm.name} key must be {self.key_size} bytes")
        if len(nonce) != self.nonce_size:
            raise InvalidKeyError(f"{self.algorithm.name} nonce must be {self.nonce_size} bytes")

    def _split(self, sealed: bytes) -> tuple[bytes, bytes]:
        if len(sealed) < self.nonce_size + self.tag_size:
            raise DecryptionError(f"{self.algorithm.name} sealed value is too short")
        return sealed[: self.nonce_size], sealed[self.nonce_size :]


class Aes256Gcm(_GcmBase):
    """AES-256 in GCM mode."""

    algorithm = Algorithm.AES256_GCM
    key_size = 32

    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
        nonce = os.urandom(self.nonce_size) if nonce is None else nonce
        self._check(key, nonce)
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)

    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        nonce, body = self._split(sealed)
        self._check(key, nonce)
        try:
            return AESGCM(key).decrypt(nonce, body, aad)
        except InvalidTag:
            raise DecryptionError("AES-256-GCM authentication failed (wrong key or tampered data)") from None


class Sm4Gcm(_GcmBase):
    """SM4 in GCM mode (RFC 8998)."""

    algorithm = Algorithm.SM4_GCM
    key_size = 16

    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
        nonce = os.urandom(self.nonce_size) if nonce is None else nonce
        self._check(key, nonce)
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plaintext) + enc.finalize()
        return nonce + body + enc.tag

    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        nonce, body = self._split(sealed)
        self._check(key, nonce)
        ct, tag = body[: -self.tag_size], body[-self.tag_size :]
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        try:
            return dec.update(ct) + dec.finalize()
        except InvalidTag:
            raise DecryptionError("SM4-GCM authentication failed (wrong key or tampered data)") from None
