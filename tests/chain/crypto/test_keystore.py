"""Encrypted key files: round trip, and a distinct clear error for each way a file can go wrong."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chain.crypto import CLASSIC, SM, CryptoSuite
from chain.crypto.keystore import (
    KeystoreExistsError,
    KeystoreFormatError,
    KeystoreNotFoundError,
    KeystorePermissionError,
    KeystoreTamperedError,
    KeystoreTruncatedError,
    KeystoreWrongPasswordError,
    load_key,
    public_info,
    save_key,
)

FAST = 2**10


@pytest.fixture(params=[CLASSIC, SM], ids=lambda s: s.name)
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return request.param


@pytest.fixture
def key_file(tmp_path: Path, suite: CryptoSuite):  # type: ignore[no-untyped-def]
    private = suite.generate_keypair().private
    path = save_key(tmp_path / "k.key", private, b"correct horse", label="alice@org1", scrypt_n=FAST)
    return path, private


def test_key_round_trips_and_file_is_private(key_file) -> None:  # type: ignore[no-untyped-def]
    path, private = key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path, b"correct horse") == private
    assert public_info(path)["public_key"] == private.public_key().hex()
    assert private.value.hex() not in path.read_text()


def test_key_is_sealed_with_the_suite_cipher(key_file, suite: CryptoSuite) -> None:  # type: ignore[no-untyped-def]
    path, _ = key_file
    assert json.loads(path.read_text())["cipher"]["name"] == suite.cipher_algorithm.name


def test_wrong_password_is_reported_as_such(key_file) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeystoreWrongPasswordError):
        load_key(key_file[0], b"wrong")


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_file_is_reported_as_truncated(key_file, keep: float) -> None:  # type: ignore[no-untyped-def]
    path = key_file[0]
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(KeystoreTruncatedError):
        load_key(path, b"correct horse")


@pytest.mark.parametrize("field", ["ciphertext", "label", "public_key", "kdf"])
def test_tampered_field_is_reported_as_tampering(key_file, field: str) -> None:  # type: ignore[no-untyped-def]
    path = key_file[0]
    doc = json.loads(path.read_text())
    if field == "kdf":
        doc["kdf"]["salt"] = "00" * 16
    elif field == "label":
        doc["label"] = "mallory"
    else:
        doc[field] = doc[field][:-2] + ("00" if doc[field][-2:] != "00" else "11")
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreTamperedError):
        load_key(path, b"correct horse")


def test_tampering_with_recomputed_checksum_still_fails_authentication(key_file) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    path = key_file[0]
    doc = json.loads(path.read_text())
    doc["ciphertext"] = doc["ciphertext"][:-2] + ("00" if doc["ciphertext"][-2:] != "00" else "11")
    body = {k: v for k, v in doc.items() if k != "checksum"}
    doc["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreTamperedError):
        load_key(path, b"correct horse")


def test_missing_file_and_foreign_file_and_loose_permissions(tmp_path: Path, key_file) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeystoreNotFoundError):
        load_key(tmp_path / "nope.key", b"x")
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    os.chmod(foreign, 0o600)
    with pytest.raises(KeystoreFormatError):
        load_key(foreign, b"x")
    path = key_file[0]
    os.chmod(path, 0o644)
    with pytest.raises(KeystorePermissionError, match="chmod 600"):
        load_key(path, b"correct horse")


def test_existing_key_is_never_overwritten_by_default(key_file, suite: CryptoSuite) -> None:  # type: ignore[no-untyped-def]
    path, private = key_file
    with pytest.raises(KeystoreExistsError):
        save_key(path, suite.generate_keypair().private, b"p", scrypt_n=FAST)
    assert load_key(path, b"correct horse") == private


def test_errors_carry_distinct_codes() -> None:
    codes = {e.code for e in (KeystoreNotFoundError, KeystorePermissionError, KeystoreTruncatedError,
                              KeystoreFormatError, KeystoreTamperedError, KeystoreWrongPasswordError)}
    assert len(codes) == 6
