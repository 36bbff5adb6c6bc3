"""The MQTT topic scheme of the bridge and the JSON it publishes; pure functions, no I/O.

Scheme (prefix ``trace`` by default; see docs/iot-operations.md):

    trace/<org>/<device>/events       device -> bridge   signed message (QoS 1, MQTT 5)
    trace/<org>/<device>/acks         bridge -> device   {status, reason, detail, seq, correlation}
    trace/<org>/<device>/dead-letter  bridge -> device   refused messages, with the reason
    bridge/dead-letter/<reason>       bridge -> ops      every refused message, bridge-wide (subscribe bridge/dead-letter/#)

A device may name its own MQTT 5 ResponseTopic, but only inside its own subtree
(``trace/<org>/<device>/...``): otherwise a device could make the bridge publish on
another device's topics, so a foreign ResponseTopic is replaced by the default acks topic.
Segments are 1-64 characters of ``A-Z a-z 0-9 . _ -`` starting with a letter or digit:
that excludes the MQTT wildcards ``+ #``, the level separator ``/``, ``$`` and NUL.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_PREFIX = "trace"
BRIDGE_DEAD_LETTER = "bridge/dead-letter"
EVENTS = "events"
ACKS = "acks"
DEAD_LETTER = "dead-letter"
KINDS = (EVENTS, ACKS, DEAD_LETTER)
MAX_SEGMENT = 64
MAX_PREFIX = 64
MAX_TOPIC_BYTES = 65535  # MQTT UTF-8 string limit
MAX_RESPONSE_SUFFIX = 128

_SEGMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,%d}" % (MAX_SEGMENT - 1))

Kind = Literal["events", "acks", "dead-letter"]


class TopicError(ValueError):
    """A topic or topic segment that breaks the scheme; .field names the offending part."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_segment(value: str, field: str) -> str:
    """value if it is a valid org/device segment, else TopicError naming field."""
    if not isinstance(value, str) or not value:
        raise TopicError("must be a non-empty string", field)
    if len(value) > MAX_SEGMENT:
        raise TopicError(f"is longer than {MAX_SEGMENT} characters", field)
    if any(c in value for c in "+#/\x00$"):
        raise TopicError(f"{value!r} contains an MQTT wildcard, '/', '$' or NUL", field)
    if not _SEGMENT_RE.fullmatch(value):
        raise TopicError(f"{value!r} must be letters, digits, '.', '_' or '-', starting with a letter or digit", field)
    return value


def check_prefix(prefix: str, field: str = "prefix") -> str:
    """A topic prefix: one or more valid segments joined by '/', e.g. ``trace`` or ``site1/trace``."""
    if not isinstance(prefix, str) or not prefix:
        raise TopicError("must be a non-empty string", field)
    if len(prefix) > MAX_PREFIX:
        raise TopicError(f"is longer than {MAX_PREFIX} characters", field)
    for part in prefix.split("/"):
        check_segment(part, field)
    if prefix == "bridge" or prefix.startswith("bridge/"):
        raise TopicError("'bridge' is reserved for the bridge-wide topics", field)
    return prefix


def _topic(org: str, device: str, kind: str, prefix: str) -> str:
    return f"{check_prefix(prefix)}/{check_segment(org, 'org')}/{check_segment(device, 'device')}/{kind}"


def events_topic(org: str, device: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Where device publishes its signed messages."""
    return _topic(org, device, EVENTS, prefix)


def acks_topic(org: str, device: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The default response topic of device."""
    return _topic(org, device, ACKS, prefix)


def dead_letter_topic(org: str, device: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Where device's refused messages are republished."""
    return _topic(org, device, DEAD_LETTER, prefix)


def bridge_dead_letter_topic(reason: str) -> str:
    """The bridge-wide dead-letter topic of one refusal reason (operators subscribe to ``bridge/dead-letter/#``)."""
    return f"{BRIDGE_DEAD_LETTER}/{check_segment(reason or 'unknown', 'reason')}"


def events_subscription(prefix: str = DEFAULT_PREFIX) -> str:
    """The bridge's subscription filter: every device's events topic."""
    return f"{check_prefix(prefix)}/+/+/{EVENTS}"


@dataclass(frozen=True)
class DeviceTopic:
    """A parsed ``<prefix>/<org>/<device>/<kind>`` topic."""

    prefix: str
    org: str
    device: str
    kind: Kind

    def __str__(self) -> str:
        return f"{self.prefix}/{self.org}/{self.device}/{self.kind}"

    @property
    def acks(self) -> str:
        return acks_topic(self.org, self.device, self.prefix)

    @property
    def dead_letter(self) -> str:
        return dead_letter_topic(self.org, self.device, self.prefix)


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> DeviceTopic:
    """Split a device topic; TopicError (field topic/prefix/org/device/kind) if it is not one of the scheme's."""
    if not isinstance(topic, str) or not topic:
        raise TopicError("must be a non-empty string", "topic")
    if len(topic.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        raise TopicError("is longer than an MQTT topic may be", "topic")
    check_prefix(prefix)
    head = prefix + "/"
    if not topic.startswith(head):
        raise TopicError(f"{topic!r} does not start with {head!r}", "prefix")
    parts = topic[len(head):].split("/")
    if len(parts) != 3:
        raise TopicError(f"{topic!r} is not {prefix}/<org>/<device>/<kind>", "topic")
    org, device, kind = parts
    check_segment(org, "org")
    check_segment(device, "device")
    if kind not in KINDS:
        raise TopicError(f"{kind!r} is not one of {', '.join(KINDS)}", "kind")
    return DeviceTopic(prefix, org, device, kind)  # type: ignore[arg-type]


def response_topic_for(events: DeviceTopic, requested: str | None) -> str:
    """The topic to answer a message on: the device's ResponseTopic if it stays in its own subtree, else acks."""
    if requested:
        own = f"{events.prefix}/{events.org}/{events.device}/"
        suffix = requested[len(own):] if requested.startswith(own) else ""
        if (
            suffix
            and len(suffix) <= MAX_RESPONSE_SUFFIX
            and suffix != EVENTS
            and all(part and not any(c in part for c in "+#\x00") for part in suffix.split("/"))
        ):
            return requested
    return events.acks


def ack_payload(status: str, reason: str, detail: str, seq: int | None, correlation: bytes | None) -> bytes:
    """The JSON answer on the response topic; correlation is the hex of the CorrelationData (or null)."""
    body: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "detail": detail,
        "seq": seq,
        "correlation": correlation.hex() if correlation is not None else None,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def dead_letter_payload(
    reason: str, detail: str, topic: str, payload: bytes, device: str, seq: int | None, received_at: str
) -> bytes:
    """The JSON republished on the dead-letter topics: the original bytes in base64 plus why they were refused."""
    body: dict[str, Any] = {
        "reason": reason,
        "detail": detail,
        "topic": topic,
        "payload_b64": base64.b64encode(payload).decode("ascii"),
        "device": device,
        "seq": seq,
        "received_at": received_at,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
