"""Published test vectors: SM2 (GM/T 0003.5), SM3 (GB/T 32905), SM4 (GB/T 32907, RFC 8998), SHA-256, AES-GCM."""
from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chain.crypto import DecryptionError
from chain.crypto.ciphers import Aes256Gcm, Sm4Gcm
from chain.crypto.hashing import sha256, sm3
from chain.crypto.sm2 import get_backend
from chain.crypto.sm2.curve import z_digest, decompress

# GM/T 0003.5-2012 / GB/T 32918.5-2017 examples on the recommended curve.
SM2_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
SM2_PX = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
SM2_PY = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
SM2_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
SM2_MSG = b"message digest"
SM2_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
SM2_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
SM2_ENC_MSG = b"encryption standard"
SM2_ENC_CT = bytes.fromhex(
    "04"
    "04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73"
    "E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
    "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
    "21886CA989CA9C7D58087307CA93092D651EFA"
)
BACKENDS = ["native", "reference"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sm2_backends_derive_the_standard_public_key(backend: str) -> None:
    public = get_backend(backend).public_from_private(SM2_D)
    assert decompress(public) == (SM2_PX, SM2_PY)


def test_sm2_reference_reproduces_the_standard_signature_with_its_k() -> None:
    assert get_backend("reference").sign_with_k(SM2_D, SM2_MSG, SM2_K) == (SM2_R, SM2_S)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sm2_backends_accept_the_standard_signature(backend: str) -> None:
    public = get_backend("native").public_from_private(SM2_D)
    be = get_backend(backend)
    assert be.verify(public, SM2_MSG, SM2_R, SM2_S)
    assert not be.verify(public, SM2_MSG + b"!", SM2_R, SM2_S)
    assert not be.verify(public, SM2_MSG, SM2_R, SM2_S ^ 1)


@pytest.mark.parametrize("signer,verifier", [("native", "reference"), ("reference", "native")])
def test_sm2_backends_verify_each_others_fresh_signatures(signer: str, verifier: str) -> None:
    s_be, v_be = get_backend(signer), get_backend(verifier)
    for i in range(5):
        private = s_be.generate()
        public = v_be.public_from_private(private)
        msg = b"cross-check %d" % i
        r, s = s_be.sign(private, msg)
        assert v_be.verify(public, msg, r, s)
        assert not v_be.verify(public, msg + b"x", r, s)


def test_sm2_z_digest_matches_gmssl_default_id() -> None:
    from gmssl import sm2 as gsm2

    engine = gsm2.CryptSM2(private_key="", public_key="")
    engine.public_key = "%064x%064x" % (SM2_PX, SM2_PY)
    e_gmssl = bytes.fromhex(engine._sm3_z(SM2_MSG))
    assert sm3(z_digest(SM2_PX, SM2_PY) + SM2_MSG) == e_gmssl


def test_sm2_reference_reproduces_the_standard_ciphertext_with_its_k() -> None:
    public = get_backend("reference").public_from_private(SM2_D)
    assert get_backend("reference").encrypt_with_k(public, SM2_ENC_MSG, SM2_K) == SM2_ENC_CT


@pytest.mark.parametrize("backend", BACKENDS)
def test_sm2_backends_decrypt_the_standard_ciphertext(backend: str) -> None:
    assert get_backend(backend).decrypt(SM2_D, SM2_ENC_CT) == SM2_ENC_MSG


@pytest.mark.parametrize("backend", BACKENDS)
def test_sm2_backends_refuse_a_ciphertext_with_a_flipped_bit(backend: str) -> None:
    for pos in (70, 100, len(SM2_ENC_CT) - 1):  # in C3, in C2 (C1 flips make it leave the curve)
        bad = bytearray(SM2_ENC_CT)
        bad[pos] ^= 1
        with pytest.raises(DecryptionError):
            get_backend(backend).decrypt(SM2_D, bytes(bad))


@pytest.mark.parametrize("enc,dec", [("native", "reference"), ("reference", "native")])
def test_sm2_backends_decrypt_each_others_ciphertexts(enc: str, dec: str) -> None:
    public = get_backend(enc).public_from_private(SM2_D)
    for size in (1, 31, 32, 33, 1000):
        msg = bytes(range(256)) * 4
        ct = get_backend(enc).encrypt(public, msg[:size])
        assert get_backend(dec).decrypt(SM2_D, ct) == msg[:size]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sm2_backends_refuse_an_empty_plaintext_alike(backend: str) -> None:
    from chain.crypto import CryptoError

    public = get_backend(backend).public_from_private(SM2_D)
    with pytest.raises(CryptoError) as err:
        get_backend(backend).encrypt(public, b"")
    assert err.value.code == "empty_plaintext"


# GB/T 32905-2016 appendix A.
@pytest.mark.parametrize(
    "message,digest",
    [
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ],
)
def test_sm3_matches_the_standard_vectors(message: bytes, digest: str) -> None:
    assert sm3(message).hex() == digest
    h = hashes.Hash(hashes.SM3())
    h.update(message)
    assert h.finalize().hex() == digest
    from gmssl import sm3 as gsm3

    assert gsm3.sm3_hash(list(message)) == digest


def test_sha256_matches_fips_180_vector() -> None:
    assert sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256(b"abc") == hashlib.sha256(b"abc").digest()


def test_sm4_block_matches_gb_t_32907_vector() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_block_one_million_iterations_vector() -> None:
    # c_{i+1} = E(c_i), a million times; CBC with a zero IV over zero blocks chains exactly that in C.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    cbc = Cipher(algorithms.SM4(key), modes.CBC(bytes(16))).encryptor()
    out = cbc.update(key + bytes(16 * (1_000_000 - 1)))
    assert out[-16:].hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_matches_rfc_8998_vector() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    pt = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    ct = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    tag = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
    sealed = Sm4Gcm().seal(key, pt, aad, nonce=nonce)
    assert sealed == nonce + ct + tag
    assert Sm4Gcm().open(key, sealed, aad) == pt


def test_aes_256_gcm_matches_nist_gcm_test_case_14() -> None:
    sealed = Aes256Gcm().seal(bytes(32), bytes(16), b"", nonce=bytes(12))
    assert sealed[12:].hex() == "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"


def test_native_sm2_never_emits_an_all_zero_key_stream() -> None:
    """GB/T 32918.4 A5: t all zero means another k; t = C2 xor M, so a one-byte message shows it 1 time in 256.

    Before the native backend drew again, the reference decryptor (B4) refused about 1 in 256 of these."""
    native, reference = get_backend("native"), get_backend("reference")
    public = native.public_from_private(SM2_D)
    for i in range(1024):
        message = bytes([i % 256])
        ciphertext = native.encrypt(public, message)
        assert ciphertext[97:] != message
        assert reference.decrypt(SM2_D, ciphertext) == message
