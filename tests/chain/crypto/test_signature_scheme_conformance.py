"""The conformance suite every SignatureSchemeAPI implementation must pass."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.crypto import InvalidKeyError
from chain.crypto.interfaces import SignatureSchemeAPI


def test_signature_verifies_for_its_message_only(scheme: SignatureSchemeAPI) -> None:
    private = scheme.generate()
    public = scheme.public_from_private(private)
    sig = scheme.sign(private, b"pay 10 to bob")
    assert len(sig) == 64 and len(public) == 33
    assert scheme.verify(public, b"pay 10 to bob", sig)
    assert not scheme.verify(public, b"pay 11 to bob", sig)


def test_signature_does_not_verify_under_another_key(scheme: SignatureSchemeAPI) -> None:
    a, b = scheme.generate(), scheme.generate()
    sig = scheme.sign(a, b"m")
    assert not scheme.verify(scheme.public_from_private(b), b"m", sig)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 63, b"\x00" * 65, b"\x00" * 64, b"\xff" * 64])
def test_malformed_signature_bytes_are_refused_without_raising(scheme: SignatureSchemeAPI, bad: bytes) -> None:
    public = scheme.public_from_private(scheme.generate())
    assert scheme.verify(public, b"m", bad) is False


def test_every_flipped_bit_of_a_signature_is_refused(scheme: SignatureSchemeAPI) -> None:
    private = scheme.generate()
    public = scheme.public_from_private(private)
    sig = scheme.sign(private, b"m")
    for bit in range(0, 512, 37):
        bad = bytearray(sig)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not scheme.verify(public, b"m", bytes(bad))


@pytest.mark.parametrize("scalar", [0, 2**256 - 1])
def test_out_of_range_private_keys_are_refused(scheme: SignatureSchemeAPI, scalar: int) -> None:
    with pytest.raises(InvalidKeyError):
        scheme.public_from_private(scalar.to_bytes(32, "big"))


@pytest.mark.parametrize("bad", [b"", b"\x02" + b"\xff" * 32, b"\x05" + b"\x01" * 32, b"\x02" * 20])
def test_invalid_public_keys_are_refused(scheme: SignatureSchemeAPI, bad: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        scheme.validate_public(bad)
    assert scheme.verify(bad, b"m", b"\x01" * 64) is False


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(max_size=512))
def test_any_message_round_trips(scheme: SignatureSchemeAPI, message: bytes) -> None:
    private = scheme.generate()
    assert scheme.verify(scheme.public_from_private(private), message, scheme.sign(private, message))
