"""Device messages (COSE_Sign1): round trips for each key type, every refusal naming its field, properties, the
worked examples of docs/iot.md."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.codec import encode
from chain.crypto import Algorithm, PrivateKey
from iot_bridge.errors import INVALID_EVENT, MALFORMED, BridgeError
from iot_bridge.message import (
    ALG_ES256,
    ALG_SM2_SM3,
    DeviceMessage,
    Reading,
    SignedMessage,
    decode_message,
    device_address,
    sign_message,
)
from tests.iot_bridge.core_fixtures import DOC_EVENT, TIME, doc_messages, fixed_key, messages

DOC = Path(__file__).resolve().parents[2] / "docs" / "iot.md"
KEY = fixed_key("message tests")
ADDRESS = device_address(KEY)
READING = DeviceMessage(ADDRESS, 1, TIME, Reading("temperature", "4.25", "CEL"))


@pytest.mark.parametrize("algorithm, alg", [(Algorithm.ECDSA_P256, ALG_ES256), (Algorithm.SM2, ALG_SM2_SM3)])
def test_round_trip_and_verify_for_each_key_type(algorithm: Algorithm, alg: int) -> None:
    key = PrivateKey.generate(algorithm)
    message = DeviceMessage(device_address(key), 42, TIME, Reading("temperature", "-18.0", "CEL"))
    signed = decode_message(sign_message(key, message))
    assert signed.message == message and signed.alg == alg
    assert signed.verify(key.public_key())
    assert not signed.verify(PrivateKey.generate(algorithm).public_key())
    other = Algorithm.SM2 if algorithm is Algorithm.ECDSA_P256 else Algorithm.ECDSA_P256
    assert not signed.verify(PrivateKey.generate(other).public_key())  # alg and key must agree


def test_event_round_trip_and_digest() -> None:
    message = DeviceMessage(ADDRESS, 3, TIME, event=DOC_EVENT)
    raw = sign_message(KEY, message)
    signed = decode_message(raw)
    assert signed.message == message and signed.raw == raw
    import hashlib
    assert signed.digest == hashlib.sha256(raw).digest()


def test_encoding_matches_cbor2_canonical() -> None:
    """The payload and header are what cbor2's canonical mode writes too (both orders agree for these maps)."""
    value = cbor2.loads(decode_message(sign_message(KEY, READING)).raw).value
    assert cbor2.dumps(cbor2.loads(value[2]), canonical=True) == value[2]
    assert cbor2.dumps({1: -7, 4: ADDRESS.encode()}, canonical=True) == value[0]


def test_es256_high_s_is_accepted_as_its_low_s_twin() -> None:
    signed = decode_message(sign_message(KEY, READING))
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = int.from_bytes(signed.signature[32:], "big")
    twin = signed.signature[:32] + (n - s).to_bytes(32, "big")
    body = cbor2.loads(signed.raw).value
    raw = b"\xd2" + encode([body[0], {}, body[2], twin])
    other = decode_message(raw)
    assert other.verify(KEY.public_key()) and other.digest != signed.digest


# -- refusals: each names its field -----------------------------------------------------------------------------


def _envelope(protected: Any = None, unprotected: Any = None, payload: Any = None, signature: Any = None,
              tag: int = 18) -> bytes:
    body = cbor2.loads(sign_message(KEY, READING)).value
    parts = [body[0] if protected is None else protected, {} if unprotected is None else unprotected,
             body[2] if payload is None else payload, body[3] if signature is None else signature]
    return cbor2.dumps(cbor2.CBORTag(tag, parts))


def _payload(**changes: Any) -> bytes:
    value: dict[str, Any] = {"v": 1, "device": ADDRESS, "seq": 1, "time": TIME,
                             "reading": {"kind": "temperature", "value": "4.25", "uom": "CEL"}}
    for k, v in changes.items():
        if v is ...:
            value.pop(k)
        else:
            value[k] = v
    return _envelope(payload=cbor2.dumps(value, canonical=True))


def _reading(**changes: Any) -> bytes:
    return _payload(reading={**{"kind": "temperature", "value": "4.25", "uom": "CEL"}, **changes})


REFUSALS: list[tuple[str, bytes, str, str]] = [
    ("oversize", b"\xd2" + bytes(20_000), MALFORMED, "message"),
    ("not cbor", b"\xff\x00", MALFORMED, "message"),
    ("not tag 18", _envelope(tag=98), MALFORMED, "tag"),
    ("untagged", cbor2.dumps([b"", {}, b"", b""]), MALFORMED, "tag"),
    ("three items", cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])), MALFORMED, "structure"),
    ("protected not bytes", _envelope(protected={1: -7}), MALFORMED, "protected"),
    ("protected extra key", _envelope(protected=cbor2.dumps({1: -7, 3: 0, 4: ADDRESS.encode()})), MALFORMED,
     "protected"),
    ("unknown alg", _envelope(protected=cbor2.dumps({1: -35, 4: ADDRESS.encode()})), MALFORMED, "protected.alg"),
    ("eddsa", _envelope(protected=cbor2.dumps({1: -8, 4: ADDRESS.encode()})), MALFORMED, "protected.alg"),
    ("kid not bytes", _envelope(protected=cbor2.dumps({1: -7, 4: ADDRESS})), MALFORMED, "protected.kid"),
    ("kid is another device", _envelope(protected=cbor2.dumps({1: -7, 4: device_address(fixed_key("x")).encode()})),
     MALFORMED, "protected.kid"),
    ("alg unprotected", _envelope(unprotected={1: -7}), MALFORMED, "unprotected"),
    ("kid unprotected", _envelope(unprotected={4: b"k"}), MALFORMED, "unprotected"),
    ("other unprotected", _envelope(unprotected={33: b"x"}), MALFORMED, "unprotected"),
    ("detached payload", _envelope(payload=cbor2.CBORSimpleValue(22)), MALFORMED, "payload"),
    ("short signature", _envelope(signature=b"\x01" * 63), MALFORMED, "signature"),
    ("payload not cbor", _envelope(payload=b"\xff"), MALFORMED, "payload"),
    ("payload not a map", _envelope(payload=cbor2.dumps([1])), MALFORMED, "payload"),
    ("payload not canonical", _envelope(payload=cbor2.dumps({"v": 1, "seq": 1, "device": ADDRESS, "time": TIME,
                                        "reading": {"kind": "temperature", "value": "4.25", "uom": "CEL"}})),
     MALFORMED, "payload"),
    ("extra key", _payload(extra=1), MALFORMED, "payload.extra"),
    ("both bodies", _payload(event=DOC_EVENT), MALFORMED, "payload.event"),
    ("no body", _payload(reading=...), MALFORMED, "payload.event"),
    ("missing seq", _payload(seq=...), MALFORMED, "payload.seq"),
    ("missing v", _payload(v=...), MALFORMED, "payload.v"),
    ("version 2", _payload(v=2), MALFORMED, "payload.v"),
    ("device not address", _payload(device="device-1"), MALFORMED, "payload.device"),
    ("seq zero", _payload(seq=0), MALFORMED, "payload.seq"),
    ("seq negative", _payload(seq=-1), MALFORMED, "payload.seq"),
    ("seq 2**63", _payload(seq=2**63), MALFORMED, "payload.seq"),
    ("seq text", _payload(seq="1"), MALFORMED, "payload.seq"),
    ("time not utc", _payload(time="2026-11-25T08:00:00+01:00"), MALFORMED, "payload.time"),
    ("time invalid date", _payload(time="2026-02-30T08:00:00Z"), MALFORMED, "payload.time"),
    ("reading extra key", _reading(note="x"), MALFORMED, "payload.reading"),
    ("value float", _reading(value=4.25), MALFORMED, "payload.reading.value"),
    ("value exponent", _reading(value="4e2"), MALFORMED, "payload.reading.value"),
    ("value 13 digits", _reading(value="1234567890123"), MALFORMED, "payload.reading.value"),
    ("value 7 decimals", _reading(value="1.1234567"), MALFORMED, "payload.reading.value"),
    ("value unicode digits", _reading(value="\u0664.2"), MALFORMED, "payload.reading.value"),
    ("kind upper", _reading(kind="Temp"), MALFORMED, "payload.reading.kind"),
    ("uom lower", _reading(uom="cel"), MALFORMED, "payload.reading.uom"),
    ("event not a map", _payload(reading=..., event=[1]), INVALID_EVENT, "payload.event"),
    ("event type", _payload(reading=..., event={**DOC_EVENT, "type": "SensorEvent"}), INVALID_EVENT,
     "payload.event.type"),
    ("event no time", _payload(reading=..., event={"type": "ObjectEvent"}), INVALID_EVENT, "payload.event.eventTime"),
    ("event time without offset", _payload(reading=..., event={**DOC_EVENT, "eventTime": "2026-11-25T08:00:05"}),
     INVALID_EVENT, "payload.event.eventTime"),
    ("event float", _payload(reading=..., event={**DOC_EVENT, "sensor": {"value": [1, 2.5]}}), INVALID_EVENT,
     "payload.event.sensor.value[1]"),
    ("event bytes", _payload(reading=..., event={**DOC_EVENT, "blob": b"x"}), INVALID_EVENT, "payload.event.blob"),
]


@pytest.mark.parametrize("name, raw, code, field", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_their_field(name: str, raw: bytes, code: str, field: str) -> None:
    with pytest.raises(BridgeError) as caught:
        decode_message(raw)
    assert (caught.value.code, caught.value.field) == (code, field), caught.value


def test_non_canonical_envelope_is_refused() -> None:
    raw = sign_message(KEY, READING)
    body = cbor2.loads(raw).value
    # the same content with the tag's array written with a 1-byte length argument: not deterministic
    loose = b"\xd2\x98\x04" + b"".join(cbor2.dumps(x) for x in (body[0], {}, body[2], body[3]))
    with pytest.raises(BridgeError) as caught:
        decode_message(loose)
    assert (caught.value.code, caught.value.field) == (MALFORMED, "message")
    with pytest.raises(BridgeError):
        decode_message(raw + b"\x00")


def test_sign_message_checks_fields_too() -> None:
    with pytest.raises(BridgeError) as caught:
        sign_message(KEY, DeviceMessage(ADDRESS, 0, TIME, Reading("temperature", "4.25", "CEL")))
    assert caught.value.field == "payload.seq"
    with pytest.raises(BridgeError) as caught:
        sign_message(KEY, DeviceMessage(ADDRESS, 1, TIME, Reading("temperature", "4.25", "CEL"), DOC_EVENT))
    assert caught.value.field == "payload.event"


def test_decode_limit_is_configurable() -> None:
    raw = sign_message(KEY, READING)
    with pytest.raises(BridgeError):
        decode_message(raw, max_bytes=len(raw) - 1)
    assert decode_message(raw, max_bytes=len(raw)).message == READING


# -- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(messages(ADDRESS))
def test_valid_messages_round_trip_and_verify(message: DeviceMessage) -> None:
    signed = decode_message(sign_message(KEY, message))
    assert signed.message == message
    assert signed.verify(KEY.public_key())


SAMPLE = sign_message(KEY, DeviceMessage(ADDRESS, 9, TIME, event=DOC_EVENT))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(SAMPLE) - 1), st.integers(1, 255))
def test_any_byte_flip_fails_decode_or_verify(position: int, flip: int) -> None:
    raw = bytearray(SAMPLE)
    raw[position] ^= flip
    try:
        signed: SignedMessage = decode_message(bytes(raw))
    except BridgeError:
        return
    assert not signed.verify(KEY.public_key())


# -- docs/iot.md ------------------------------------------------------------------------------------------------


def _doc_vectors() -> dict[str, str]:
    """title -> hex of each worked example in docs/iot.md (a '### Example: <title>' section with a ```hex block)."""
    text = DOC.read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r"### Example: (.+?)\n.*?```hex\n(.+?)```", text, re.S):
        found[match.group(1).strip()] = "".join(match.group(2).split())
    return found


def test_doc_vectors_decode_verify_and_match_the_encoder() -> None:
    vectors = _doc_vectors()
    examples = doc_messages()
    assert len(vectors) >= 2 and set(vectors) == {title for title, _, _ in examples}
    for title, key, message in examples:
        raw = bytes.fromhex(vectors[title])
        signed = decode_message(raw)
        assert signed.message == message, title
        assert signed.verify(key.public_key()), title
        # everything but the (randomised) signature is exactly what the encoder writes today
        fresh = cbor2.loads(sign_message(key, message)).value
        body = cbor2.loads(raw).value
        assert (body[0], body[2]) == (fresh[0], fresh[2]), title
        assert signed.digest.hex() in DOC.read_text(), title
