"""The topic scheme: building, parsing, validation (each error names its field), answer payloads."""
from __future__ import annotations

import base64
import json

import pytest

from iot_bridge.topics import (
    TopicError,
    ack_payload,
    acks_topic,
    bridge_dead_letter_topic,
    dead_letter_payload,
    dead_letter_topic,
    events_subscription,
    events_topic,
    parse_topic,
    response_topic_for,
)

DEVICE = "1AbCdEfGhJkLmNpQrStUvWxYz23456789"


def test_build_and_parse_round_trip() -> None:
    topic = events_topic("org1", DEVICE)
    assert topic == f"trace/org1/{DEVICE}/events"
    parsed = parse_topic(topic)
    assert (parsed.prefix, parsed.org, parsed.device, parsed.kind) == ("trace", "org1", DEVICE, "events")
    assert str(parsed) == topic
    assert parsed.acks == acks_topic("org1", DEVICE) == f"trace/org1/{DEVICE}/acks"
    assert parsed.dead_letter == dead_letter_topic("org1", DEVICE) == f"trace/org1/{DEVICE}/dead-letter"
    assert events_subscription() == "trace/+/+/events"
    assert events_subscription("site1/trace") == "site1/trace/+/+/events"
    assert parse_topic(events_topic("org1", "d1", "site1/trace"), "site1/trace").device == "d1"
    assert bridge_dead_letter_topic("bad_signature") == "bridge/dead-letter/bad_signature"


@pytest.mark.parametrize(
    ("org", "device", "field"),
    [
        ("", "d1", "org"),
        ("org+1", "d1", "org"),
        ("org#", "d1", "org"),
        ("a/b", "d1", "org"),
        ("org1", "d/1", "device"),
        ("org1", "+", "device"),
        ("org1", "$SYS", "device"),
        ("org1", "d\x001", "device"),
        ("org1", "x" * 65, "device"),
        ("o" * 65, "d1", "org"),
        ("org1", "-d1", "device"),
        ("org 1", "d1", "org"),
    ],
)
def test_bad_segments_name_their_field(org: str, device: str, field: str) -> None:
    with pytest.raises(TopicError) as exc:
        events_topic(org, device)
    assert exc.value.field == field
    assert str(exc.value).startswith(field + ":")


@pytest.mark.parametrize("prefix", ["", "tr+ace", "trace/", "/trace", "bridge", "bridge/x", "a" * 65])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(TopicError) as exc:
        events_subscription(prefix)
    assert exc.value.field == "prefix"


@pytest.mark.parametrize(
    ("topic", "field"),
    [
        ("", "topic"),
        ("other/org1/d1/events", "prefix"),
        ("trace/org1/events", "topic"),
        ("trace/org1/d1/x/events", "topic"),
        ("trace/org1/d1/readings", "kind"),
        ("trace/org+/d1/events", "org"),
        ("trace/org1//events", "device"),
    ],
)
def test_parse_refuses(topic: str, field: str) -> None:
    with pytest.raises(TopicError) as exc:
        parse_topic(topic)
    assert exc.value.field == field


def test_response_topic_stays_in_the_device_subtree() -> None:
    where = parse_topic(events_topic("org1", "d1"))
    assert response_topic_for(where, None) == "trace/org1/d1/acks"
    assert response_topic_for(where, "trace/org1/d1/replies/42") == "trace/org1/d1/replies/42"
    for foreign in ("trace/org1/d2/acks", "bridge/dead-letter", "trace/org1/d1/events", "trace/org1/d1/#",
                    "trace/org1/d1/", "trace/org1/d1//x", "trace/org1/d1x/acks"):
        assert response_topic_for(where, foreign) == "trace/org1/d1/acks", foreign


def test_payloads() -> None:
    ack = json.loads(ack_payload("refused", "replay", "seq 3 already used", 3, b"\x01\xff"))
    assert ack == {"status": "refused", "reason": "replay", "detail": "seq 3 already used", "seq": 3, "correlation": "01ff"}
    assert json.loads(ack_payload("accepted", "", "", None, None))["correlation"] is None
    letter = json.loads(dead_letter_payload("malformed", "not CBOR", "trace/o/d/events", b"\x00junk", "", None,
                                            "2025-01-01T00:00:00.000Z"))
    assert base64.b64decode(letter["payload_b64"]) == b"\x00junk"
    assert set(letter) == {"reason", "detail", "topic", "payload_b64", "device", "seq", "received_at"}
