"""Self-describing keys, signatures, digests and addresses; suites and their ciphers."""
from __future__ import annotations

import pytest

from chain.crypto import (
    CLASSIC,
    SM,
    Address,
    Algorithm,
    CryptoSuite,
    DecryptionError,
    HashDigest,
    InvalidAddressError,
    InvalidDigestError,
    InvalidKeyError,
    InvalidSignatureEncodingError,
    PrivateKey,
    PublicKey,
    Signature,
    SuiteMismatchError,
    UnknownAlgorithmError,
    get_suite,
    suite_of,
    verify_encoded,
)
from chain.crypto.p256 import HALF_N, N

SUITES = [CLASSIC, SM]


@pytest.fixture(params=SUITES, ids=lambda s: s.name)
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return request.param


def test_encodings_carry_the_algorithm_code_prefix(suite: CryptoSuite) -> None:
    pair = suite.generate_keypair()
    sig = pair.private.sign(b"m")
    code = suite.signature_algorithm.prefix
    assert pair.public.encode()[:2] == code and len(pair.public.encode()) == 35
    assert sig.encode()[:2] == code and len(sig.encode()) == 66
    assert pair.private.encode()[:2] == code
    assert suite.hash(b"x").encode()[:2] == suite.hash_algorithm.prefix


def test_values_round_trip_through_bytes_and_hex(suite: CryptoSuite) -> None:
    pair = suite.generate_keypair()
    sig = pair.private.sign(b"m")
    assert PublicKey.decode(pair.public.encode()) == pair.public
    assert PublicKey.from_hex(pair.public.hex()) == pair.public
    assert PrivateKey.decode(pair.private.encode()) == pair.private
    assert Signature.decode(sig.encode()) == sig
    digest = suite.hash(b"data")
    assert HashDigest.decode(digest.encode()) == digest == HashDigest.from_hex(digest.hex())
    addr = suite.address_of(pair.public)
    assert Address.parse(str(addr)) == addr


def test_private_key_repr_never_shows_the_secret(suite: CryptoSuite) -> None:
    private = suite.generate_keypair().private
    assert private.value.hex() not in repr(private)


def test_encoded_verification_matches_object_verification(suite: CryptoSuite) -> None:
    pair = suite.generate_keypair()
    sig = pair.private.sign(b"m")
    assert verify_encoded(pair.public.encode(), b"m", sig.encode())
    assert not verify_encoded(pair.public.encode(), b"n", sig.encode())
    assert not verify_encoded(b"\x99\x99" + pair.public.value, b"m", sig.encode())
    assert not verify_encoded(b"", b"m", sig.encode())


def test_suites_refuse_keys_and_signatures_of_the_other_suite() -> None:
    c, s = CLASSIC.generate_keypair(), SM.generate_keypair()
    assert not CLASSIC.verify(s.public, b"m", s.private.sign(b"m"))
    assert not c.public.verify(b"m", s.private.sign(b"m"))
    assert not verify_encoded(c.public.encode(), b"m", s.private.sign(b"m").encode())
    with pytest.raises(SuiteMismatchError):
        CLASSIC.address_of(s.public)


def test_p256_signatures_are_low_s_and_high_s_is_refused() -> None:
    pair = CLASSIC.generate_keypair()
    for i in range(20):
        sig = pair.private.sign(b"m%d" % i)
        s = int.from_bytes(sig.value[32:], "big")
        assert s <= HALF_N
        high = Signature(sig.algorithm, sig.value[:32] + (N - s).to_bytes(32, "big"))
        assert not pair.public.verify(b"m%d" % i, high)


@pytest.mark.parametrize(
    "decode,data,error",
    [
        (PublicKey.decode, b"\x20", InvalidKeyError),
        (PublicKey.decode, b"\x10\x01" + b"\x02" * 33, InvalidKeyError),
        (PublicKey.decode, b"\x20\x01" + b"\x02" + b"\xff" * 32, InvalidKeyError),
        (Signature.decode, b"\x20\x01" + b"\x00" * 10, InvalidSignatureEncodingError),
        (Signature.decode, b"\x77\x77" + b"\x00" * 64, InvalidSignatureEncodingError),
        (HashDigest.decode, b"\x10\x01" + b"\x00" * 31, InvalidDigestError),
        (Address.decode, b"\x02" + b"\x10\x01" + b"\x00" * 20, InvalidAddressError),
    ],
)
def test_malformed_encodings_raise_a_specific_error(decode, data: bytes, error: type) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        decode(data)


def test_address_typo_fails_the_checksum(suite: CryptoSuite) -> None:
    text = str(suite.address_of(suite.generate_keypair().public))
    typo = text[:-3] + ("2" if text[-3] != "2" else "3") + text[-2:]
    with pytest.raises(InvalidAddressError):
        Address.parse(typo)
    with pytest.raises(InvalidAddressError):
        Address.parse("not an address 0OIl")


def test_address_depends_on_the_ledger_hash(suite: CryptoSuite) -> None:
    pub = suite.generate_keypair().public
    assert Address.of(pub, Algorithm.SHA256) != Address.of(pub, Algorithm.SM3)


def test_get_suite_names_the_choices_when_unknown() -> None:
    assert get_suite("sm") is SM
    with pytest.raises(UnknownAlgorithmError, match="classic, sm"):
        get_suite("rsa")
    assert suite_of(Algorithm.SM4_GCM) is SM


def test_cipher_round_trip_and_tamper_detection(suite: CryptoSuite) -> None:
    key = bytes(range(suite.cipher.key_size))
    sealed = suite.cipher.seal(key, b"private data", b"header")
    assert suite.cipher.open(key, sealed, b"header") == b"private data"
    assert suite.cipher.seal(key, b"x") != suite.cipher.seal(key, b"x")  # fresh nonce
    with pytest.raises(DecryptionError):
        suite.cipher.open(key, sealed, b"other header")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        suite.cipher.open(key, bytes(tampered), b"header")
    with pytest.raises(DecryptionError):
        suite.cipher.open(key, b"short", b"header")
    with pytest.raises(InvalidKeyError):
        suite.cipher.seal(b"short key", b"x")


def test_public_key_encryption_only_opens_for_the_recipient(suite: CryptoSuite) -> None:
    alice, eve = suite.generate_keypair(), suite.generate_keypair()
    ct = suite.encryption.encrypt(alice.public.value, b"for alice only")
    assert suite.encryption.decrypt(alice.private.value, ct) == b"for alice only"
    with pytest.raises(DecryptionError):
        suite.encryption.decrypt(eve.private.value, ct)
    tampered = bytearray(ct)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        suite.encryption.decrypt(alice.private.value, bytes(tampered))
    with pytest.raises(DecryptionError):
        suite.encryption.decrypt(alice.private.value, ct[:20])
