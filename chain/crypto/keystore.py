"""Encrypted private-key files: scrypt KDF + the key's own suite AEAD, 0600, atomic writes.

The checks run in an order that lets every failure say what it is: a missing
file, loose permissions, a truncated or foreign file, a tampered file (checksum
or AEAD tag), and a wrong password (a KDF-derived verifier) are all distinct.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chain.atomic_file import write_atomic
from chain.crypto.algorithms import Algorithm
from chain.crypto.errors import CryptoError, DecryptionError, InvalidKeyError
from chain.crypto.keys import PrivateKey
from chain.crypto.registry import cipher
from chain.crypto.suites import suite_of

FORMAT = "chain-keystore"
VERSION = 1
DEFAULT_SCRYPT_N = 2**15
MIN_SCRYPT_N, MAX_SCRYPT_N = 2**10, 2**20
_CHECK_LABEL = b"chain-keystore/password-check"
_FIELDS = ("format", "version", "label", "algorithm", "public_key", "kdf", "cipher", "ciphertext", "check", "checksum")


class KeystoreError(CryptoError):
    """Base of keystore errors."""

    code = "keystore_error"


class KeystoreNotFoundError(KeystoreError):
    """No file at the given path."""

    code = "keystore_not_found"


class KeystorePermissionError(KeystoreError):
    """The file is readable by others than its owner."""

    code = "keystore_permissions"


class KeystoreTruncatedError(KeystoreError):
    """The file ends early (an interrupted copy or a full disk)."""

    code = "keystore_truncated"


class KeystoreFormatError(KeystoreError):
    """The file is not a keystore of a known version."""

    code = "keystore_format"


class KeystoreTamperedError(KeystoreError):
    """The file was altered after it was written."""

    code = "keystore_tampered"


class KeystoreWrongPasswordError(KeystoreError):
    """The password does not open this keystore."""

    code = "keystore_wrong_password"


class KeystoreExistsError(KeystoreError):
    """Refusing to overwrite an existing key file."""

    code = "keystore_exists"


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(password)


def encrypt_key(private: PrivateKey, password: bytes, *, label: str = "", scrypt_n: int = DEFAULT_SCRYPT_N) -> dict[str, Any]:
    """The keystore document of a private key."""
    aead = suite_of(private.algorithm).cipher
    salt = os.urandom(16)
    derived = _derive(password, salt, scrypt_n, 8, 1, aead.key_size + 32)
    enc_key, check_key = derived[: aead.key_size], derived[aead.key_size :]
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "label": label,
        "algorithm": private.algorithm.name,
        "public_key": private.public_key().hex(),
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": 8, "p": 1, "salt": salt.hex()},
        "cipher": {"name": aead.algorithm.name},
    }
    doc["ciphertext"] = aead.seal(enc_key, private.value, _canonical(doc)).hex()
    doc["check"] = hmac.new(check_key, _CHECK_LABEL, hashlib.sha256).hexdigest()
    doc["checksum"] = hashlib.sha256(_canonical(doc)).hexdigest()
    return doc


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise KeystoreFormatError(f"keystore field {name!r} is missing or not a {kind.__name__}")
    return value


def decrypt_key(doc: dict[str, Any], password: bytes) -> PrivateKey:
    """The private key inside a keystore document."""
    if doc.get("format") != FORMAT:
        raise KeystoreFormatError("not a chain keystore file")
    if doc.get("version") != VERSION:
        raise KeystoreFormatError(f"unsupported keystore version {doc.get('version')!r} (this build reads {VERSION})")
    missing = [f for f in _FIELDS if f not in doc]
    if missing:
        raise KeystoreFormatError(f"keystore is missing fields: {', '.join(missing)}")
    body = {k: v for k, v in doc.items() if k != "checksum"}
    if not hmac.compare_digest(hashlib.sha256(_canonical(body)).hexdigest(), str(doc["checksum"])):
        raise KeystoreTamperedError("keystore checksum does not match its contents: the file was altered")
    kdf = _field(doc, "kdf", dict)
    try:
        n, r, p, salt = int(kdf["n"]), int(kdf["r"]), int(kdf["p"]), bytes.fromhex(kdf["salt"])
        alg = Algorithm[_field(doc, "algorithm", str)]
        aead = cipher(Algorithm[_field(doc, "cipher", dict)["name"]])
        ciphertext = bytes.fromhex(_field(doc, "ciphertext", str))
    except (KeyError, ValueError, TypeError) as exc:
        raise KeystoreFormatError(f"keystore header is invalid: {exc}") from None
    if kdf.get("name") != "scrypt" or not (MIN_SCRYPT_N <= n <= MAX_SCRYPT_N) or n & (n - 1) or not (1 <= r <= 32 and 1 <= p <= 16):
        raise KeystoreFormatError("keystore KDF parameters are outside the accepted range")
    derived = _derive(password, salt, n, r, p, aead.key_size + 32)
    enc_key, check_key = derived[: aead.key_size], derived[aead.key_size :]
    expected = hmac.new(check_key, _CHECK_LABEL, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(doc["check"])):
        raise KeystoreWrongPasswordError("wrong password for this keystore")
    header = {k: v for k, v in doc.items() if k not in ("ciphertext", "check", "checksum")}
    try:
        private = PrivateKey(alg, aead.open(enc_key, ciphertext, _canonical(header)))
    except (DecryptionError, InvalidKeyError):
        raise KeystoreTamperedError("keystore ciphertext failed authentication: the file was altered") from None
    if private.public_key().hex() != doc["public_key"]:
        raise KeystoreTamperedError("keystore public key does not match the private key inside")
    return private


def save_key(
    path: str | os.PathLike[str],
    private: PrivateKey,
    password: bytes,
    *,
    label: str = "",
    overwrite: bool = False,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> Path:
    """Write an encrypted key file with mode 0600, atomically (temp file, fsync, rename)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeystoreExistsError(f"{target} already exists; refusing to overwrite a key")
    data = json.dumps(encrypt_key(private, password, label=label, scrypt_n=scrypt_n), indent=2).encode() + b"\n"
    write_atomic(target, data, 0o600)
    return target


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a key file, telling missing, too open, truncated and foreign files apart."""
    target = Path(path)
    try:
        st = target.stat()
        raw = target.read_bytes()
    except FileNotFoundError:
        raise KeystoreNotFoundError(f"no key file at {target}") from None
    except IsADirectoryError:
        raise KeystoreFormatError(f"{target} is a directory, not a key file") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeystorePermissionError(
            f"{target} has permissions {stat.S_IMODE(st.st_mode):04o}; a key file must be private: chmod 600 {target}"
        )
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        if raw.lstrip().startswith(b"{") and FORMAT.encode() in raw:
            raise KeystoreTruncatedError(f"{target} is truncated or damaged ({len(raw)} bytes)") from None
        raise KeystoreFormatError(f"{target} is not a chain keystore file") from None
    if not isinstance(doc, dict):
        raise KeystoreFormatError(f"{target} is not a chain keystore file")
    return doc


def load_key(path: str | os.PathLike[str], password: bytes) -> PrivateKey:
    """Decrypt the private key in a key file."""
    return decrypt_key(read_document(path), password)


def public_info(path: str | os.PathLike[str]) -> dict[str, str]:
    """The non-secret header of a key file (no password needed)."""
    doc = read_document(path)
    if doc.get("format") != FORMAT:
        raise KeystoreFormatError(f"{path} is not a chain keystore file")
    return {"label": str(doc.get("label", "")), "algorithm": str(doc.get("algorithm")), "public_key": str(doc.get("public_key"))}
