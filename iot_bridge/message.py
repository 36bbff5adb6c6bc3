"""Device messages: a COSE_Sign1 structure (RFC 9052, CBOR tag 18) over a deterministic-CBOR payload.

Why COSE_Sign1 rather than our own envelope: constrained devices have COSE
libraries (t_cose, pycose, go-cose, COSE-C), and RFC 9052 fixes exactly what is
signed (the Sig_structure), so a device vendor can build messages without our
code. Everything that is signed is deterministic CBOR (RFC 8949 section 4.2.1,
`chain.codec`), and the decoder refuses any byte string that does not re-encode
identically: the digest of a message (sha256 of its bytes) then names its
content, which is what duplicate detection and the chain's device log rely on.

    COSE_Sign1 = 18([protected: bstr .cbor {1: alg, 4: kid}, unprotected: {}, payload: bstr .cbor Payload, signature: bstr])
    Payload    = {"v": 1, "device": address, "seq": uint, "time": tstr, ("reading": Reading // "event": EPCIS event)}
    signature  = sign(key, ["Signature1", protected, h'', payload])           (external_aad is empty)

alg: -7 ES256 (ECDSA P-256 with SHA-256, signature r||s, 32 bytes each) and
-70001 SM2 with SM3 and the default signer ID "1234567812345678" (GM/T 0009;
-70001 is in COSE's private-use range, below -65536). Ledgers sign with ECDSA
P-256 (classic suite) or SM2 (sm suite) and a device is a ledger identity, so
EdDSA (-8) is recognised but refused: no device key of ours can be Ed25519.
docs/iot.md has the full format and worked examples.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Mapping
from typing import Any

import cbor2

from chain.codec import CodecError, encode
from chain.crypto import Address, Algorithm, CryptoError, PrivateKey, PublicKey, Signature, suite_of
from iot_bridge.errors import INVALID_EVENT, MALFORMED, BridgeError

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_ES256 = -7
ALG_EDDSA = -8
ALG_SM2_SM3 = -70001
#: COSE algorithm value -> our signature algorithm.
COSE_ALGORITHMS: dict[int, Algorithm] = {ALG_ES256: Algorithm.ECDSA_P256, ALG_SM2_SM3: Algorithm.SM2}
_COSE_OF: dict[Algorithm, int] = {v: k for k, v in COSE_ALGORITHMS.items()}

PAYLOAD_VERSION = 1
MAX_MESSAGE_BYTES = 16_384
MAX_SEQ = 2**63 - 1
MAX_EVENT_DEPTH = 16
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent")
_TAG_PREFIX = b"\xd2"  # CBOR major type 6, tag 18
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_DECIMAL = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_UOM = re.compile(r"[A-Z0-9]{2,3}")
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_EVENT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")
_INT_MIN, _INT_MAX = -(2**64), 2**64 - 1  # the canonical encoding's integer range


@dataclass(frozen=True)
class Reading:
    """A sensor reading. `value` is a decimal string ("4.25", "-18.0"): no floats anywhere on chain.

    `kind` is a lower-case name ("temperature", "humidity"); `uom` a UN/CEFACT Recommendation 20 code
    ("CEL" degrees Celsius, "A93" grams per cubic metre, "P1" percent)."""

    kind: str
    value: str
    uom: str


@dataclass(frozen=True)
class DeviceMessage:
    """What a device says: its address, a per-device sequence number (from 1), an RFC 3339 UTC time, and
    exactly one of a reading or an EPCIS 2.0 event (its JSON form)."""

    device: str
    seq: int
    time: str
    reading: Reading | None = None
    event: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignedMessage:
    """A decoded, well-formed message; not yet verified (see `verify`). `digest` is sha256 of `raw`."""

    message: DeviceMessage
    raw: bytes = field(repr=False)
    digest: bytes
    alg: int = ALG_ES256
    signature: bytes = field(default=b"", repr=False)
    to_be_signed: bytes = field(default=b"", repr=False)

    def verify(self, public_key: PublicKey) -> bool:
        """True iff the signature verifies with `public_key` under the message's alg (never raises)."""
        item = self.verify_item(public_key)
        if item is None:
            return False
        try:
            return public_key.verify(item[1], Signature.decode(item[2]))
        except CryptoError:
            return False

    def verify_item(self, public_key: PublicKey) -> tuple[bytes, bytes, bytes] | None:
        """(encoded key, message, encoded signature) for chain.crypto's batch verifier; None if alg and key differ.

        An ES256 signature with a high S is accepted (COSE does not require low S; many device libraries do not
        normalise): it is turned into its low-S twin, which our verifier requires. A twin is another byte string,
        so its digest differs and it cannot pass as a redelivery of the original."""
        algorithm = COSE_ALGORITHMS.get(self.alg)
        if algorithm is None or algorithm is not public_key.algorithm or len(self.signature) != 64:
            return None
        signature = self.signature
        if algorithm is Algorithm.ECDSA_P256:
            s = int.from_bytes(signature[32:], "big")
            if _P256_N // 2 < s < _P256_N:
                signature = signature[:32] + (_P256_N - s).to_bytes(32, "big")
        return public_key.encode(), self.to_be_signed, algorithm.prefix + signature


def device_address(key: PrivateKey | PublicKey) -> str:
    """The address text of a device key on a ledger of the key's suite (P-256: classic/SHA-256, SM2: sm/SM3)."""
    public = key.public_key() if isinstance(key, PrivateKey) else key
    return str(Address.of(public, suite_of(public.algorithm).hash_algorithm))


def cose_algorithm(key: PrivateKey | PublicKey) -> int:
    """The COSE alg value for a key of ours."""
    try:
        return _COSE_OF[key.algorithm]
    except KeyError:
        raise BridgeError(MALFORMED, f"{key.algorithm.name} keys have no COSE algorithm here", "protected.alg") from None


def payload_value(message: DeviceMessage) -> dict[str, Any]:
    """The payload map of a message (checked: BridgeError names the first bad field)."""
    value: dict[str, Any] = {"v": PAYLOAD_VERSION, "device": message.device, "seq": message.seq, "time": message.time}
    if message.reading is not None:
        value["reading"] = {"kind": message.reading.kind, "value": message.reading.value, "uom": message.reading.uom}
    if message.event is not None:
        value["event"] = message.event
    _check_payload(value)
    return value


def sign_message(key: PrivateKey, message: DeviceMessage) -> bytes:
    """The COSE_Sign1 bytes a device publishes for `message`, signed with `key`."""
    alg = cose_algorithm(key)
    payload = _encode(payload_value(message), "payload")
    protected = encode({HEADER_ALG: alg, HEADER_KID: message.device.encode("utf-8")})
    signature = key.sign(_sig_structure(protected, payload)).value
    return _TAG_PREFIX + encode([protected, {}, payload, signature])


def decode_message(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> SignedMessage:
    """Parse and check a device message (structure and fields; not the signature: see SignedMessage.verify).

    Raises BridgeError(MALFORMED or INVALID_EVENT) whose `field` names the exact offending part."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BridgeError(MALFORMED, "a message is a byte string", "message")
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise BridgeError(MALFORMED, f"the message is {len(raw)} bytes; the limit is {max_bytes}", "message")
    try:
        outer = cbor2.loads(raw)
    except Exception as exc:  # cbor2 raises several types (and RecursionError on deep nesting)
        raise BridgeError(MALFORMED, f"not CBOR: {exc}", "message") from None
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != COSE_SIGN1_TAG:
        raise BridgeError(MALFORMED, "a device message is a COSE_Sign1 structure (CBOR tag 18)", "tag")
    body = outer.value
    if not isinstance(body, (list, tuple)) or len(body) != 4:  # cbor2 gives a tag's content as immutable values
        raise BridgeError(MALFORMED, "COSE_Sign1 is [protected, unprotected, payload, signature]", "structure")
    protected, unprotected, payload, signature = body
    alg, kid = _protected_header(protected)
    _unprotected_header(unprotected)
    if not isinstance(payload, bytes):
        raise BridgeError(MALFORMED, "the payload must be a byte string (detached payloads are not accepted)", "payload")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise BridgeError(MALFORMED, "the signature must be 64 bytes (r || s)", "signature")
    value = _loads(payload, "payload")
    _check_payload(value)
    if _encode(value, "payload") != payload:
        raise BridgeError(MALFORMED, "the payload is not deterministic CBOR (RFC 8949 section 4.2.1)", "payload")
    if kid != value["device"]:
        raise BridgeError(MALFORMED, "the kid is not the payload's device", "protected.kid")
    if _TAG_PREFIX + encode([protected, {}, payload, signature]) != raw:
        raise BridgeError(MALFORMED, "the COSE_Sign1 structure is not deterministic CBOR", "message")
    reading = value.get("reading")
    message = DeviceMessage(value["device"], value["seq"], value["time"],
                            None if reading is None else Reading(reading["kind"], reading["value"], reading["uom"]),
                            value.get("event"))
    return SignedMessage(message, raw, hashlib.sha256(raw).digest(), alg, signature, _sig_structure(protected, payload))


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return encode(["Signature1", protected, b"", payload])


def _loads(data: bytes, where: str) -> Any:
    try:
        return cbor2.loads(data)
    except Exception as exc:
        raise BridgeError(MALFORMED, f"not CBOR: {exc}", where) from None


def _encode(value: Any, where: str) -> bytes:
    try:
        return encode(value)
    except CodecError as exc:
        raise BridgeError(MALFORMED, f"cannot be encoded canonically: {exc}", where) from None


def _protected_header(protected: Any) -> tuple[int, str]:
    if not isinstance(protected, bytes):
        raise BridgeError(MALFORMED, "the protected header must be a byte string", "protected")
    header = _loads(protected, "protected")
    if not isinstance(header, dict) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise BridgeError(MALFORMED, "the protected header is exactly {1: alg, 4: kid}", "protected")
    alg = header[HEADER_ALG]
    if alg == ALG_EDDSA:
        raise BridgeError(MALFORMED, "EdDSA (-8) is not accepted: device keys are ECDSA P-256 (-7) or SM2 (-70001)",
                          "protected.alg")
    if type(alg) is not int or alg not in COSE_ALGORITHMS:
        raise BridgeError(MALFORMED, f"unknown alg {alg!r}; expected -7 (ES256) or -70001 (SM2)", "protected.alg")
    kid = header[HEADER_KID]
    if not isinstance(kid, bytes):
        raise BridgeError(MALFORMED, "the kid must be a byte string (the device address, UTF-8)", "protected.kid")
    if _encode(header, "protected") != protected:
        raise BridgeError(MALFORMED, "the protected header is not deterministic CBOR", "protected")
    try:
        return alg, kid.decode("utf-8")
    except UnicodeDecodeError:
        raise BridgeError(MALFORMED, "the kid is not UTF-8", "protected.kid") from None


def _unprotected_header(unprotected: Any) -> None:
    if not isinstance(unprotected, Mapping):
        raise BridgeError(MALFORMED, "the unprotected header must be a map", "unprotected")
    if HEADER_ALG in unprotected or HEADER_KID in unprotected:
        raise BridgeError(MALFORMED, "alg and kid belong in the protected header", "unprotected")
    if unprotected:
        raise BridgeError(MALFORMED, "the unprotected header must be empty (nothing unsigned is accepted)", "unprotected")


def _check_payload(value: Any) -> None:
    """Check the payload map field by field, in a fixed order (the first problem is reported)."""
    if not isinstance(value, dict):
        raise BridgeError(MALFORMED, "the payload is a map", "payload")
    body = "reading" if "reading" in value else "event"
    expected = {"v", "device", "seq", "time", body}
    for key in value:
        if key not in expected:
            which = "has both reading and event" if key in ("reading", "event") else f"has an unknown key {key!r}"
            raise BridgeError(MALFORMED, f"the payload {which}", f"payload.{key}")
    for key in ("v", "device", "seq", "time", body):
        if key not in value:
            what = "a reading or an event" if key == "event" else f"the key {key!r}"
            raise BridgeError(MALFORMED, f"the payload lacks {what}", f"payload.{key}")
    if type(value["v"]) is not int or value["v"] != PAYLOAD_VERSION:
        raise BridgeError(MALFORMED, f"unsupported payload version {value['v']!r}; this bridge reads v=1", "payload.v")
    _check_device(value["device"])
    seq = value["seq"]
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise BridgeError(MALFORMED, "seq is an integer from 1 to 2**63-1", "payload.seq")
    _check_time(value["time"], _UTC_TIME, "payload.time", "an RFC 3339 UTC time such as 2026-11-25T08:00:00.000Z",
                MALFORMED)
    if body == "reading":
        _check_reading(value["reading"])
    else:
        _check_event(value["event"])


def _check_device(device: Any) -> None:
    if not isinstance(device, str):
        raise BridgeError(MALFORMED, "device is the device's address text", "payload.device")
    try:
        Address.parse(device)
    except (CryptoError, ValueError):
        raise BridgeError(MALFORMED, f"device {device[:60]!r} is not an address", "payload.device") from None


def _check_time(text: Any, shape: re.Pattern[str], where: str, what: str, code: str) -> None:
    if not isinstance(text, str) or shape.fullmatch(text) is None:
        raise BridgeError(code, f"expected {what}", where)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise BridgeError(code, f"{text!r} is not a valid date and time", where) from None


def _check_reading(reading: Any) -> None:
    if not isinstance(reading, dict) or set(reading) != {"kind", "value", "uom"}:
        raise BridgeError(MALFORMED, "a reading is exactly {kind, value, uom}", "payload.reading")
    kind, number, uom = reading["kind"], reading["value"], reading["uom"]
    if not isinstance(kind, str) or _KIND.fullmatch(kind) is None:
        raise BridgeError(MALFORMED, "kind is a lower-case name such as 'temperature'", "payload.reading.kind")
    if not isinstance(number, str) or _DECIMAL.fullmatch(number) is None:
        raise BridgeError(MALFORMED, "value is a decimal string: up to 12 digits, optionally '.' and up to 6 more",
                          "payload.reading.value")
    if not isinstance(uom, str) or _UOM.fullmatch(uom) is None:
        raise BridgeError(MALFORMED, "uom is a UN/CEFACT unit code such as 'CEL'", "payload.reading.uom")


def _check_event(event: Any) -> None:
    if not isinstance(event, dict):
        raise BridgeError(INVALID_EVENT, "an event is an EPCIS 2.0 event object", "payload.event")
    _check_json(event, "payload.event", 0)
    if event.get("type") not in EVENT_TYPES:
        raise BridgeError(INVALID_EVENT, f"type must be one of {', '.join(EVENT_TYPES)}", "payload.event.type")
    _check_time(event.get("eventTime"), _EVENT_TIME, "payload.event.eventTime",
                "an RFC 3339 time with its offset", INVALID_EVENT)


def _check_json(value: Any, where: str, depth: int) -> None:
    """JSON data only (text keys; text, integers, booleans, null, arrays, objects), and no floats."""
    if depth > MAX_EVENT_DEPTH:
        raise BridgeError(INVALID_EVENT, f"nested deeper than {MAX_EVENT_DEPTH} levels", where)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BridgeError(INVALID_EVENT, "object keys are text", where)
            _check_json(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", depth + 1)
    elif isinstance(value, float):
        raise BridgeError(INVALID_EVENT, "numbers with a fraction are decimal strings (no floats on chain)", where)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not _INT_MIN <= value <= _INT_MAX:
            raise BridgeError(INVALID_EVENT, "integers are within the 64-bit CBOR range", where)
    elif not (value is None or isinstance(value, (str, bool))):
        raise BridgeError(INVALID_EVENT, f"{type(value).__name__} is not JSON data", where)
