"""Intake: judge device messages and store the accepted ones durably, a batch at a time (group commit).

The MQTT side hands over what it received as (topic, payload) pairs and
acknowledges them to the broker only after `accept_many` returns: by then every
accepted message is in the outbox, committed in ONE SQLite transaction with the
whole batch. If `accept_many` raises (disk failure, device registry without a
view of the chain), nothing of the batch may be acknowledged; the broker
redelivers it and the intake judges it again (redeliveries are recognised).

Checks, in order; the first that fails decides (see docs/iot.md):
  1. topic shape `<prefix>/<org>/<device>/events`                 -> wrong_topic
  2. decode: COSE_Sign1 structure and payload fields              -> malformed / invalid_event
  3. the topic's device is the message's device                   -> wrong_topic
  4. the same bytes are already stored (a redelivery)             -> "duplicate" (acknowledge again, nothing new)
  5. device registered, not frozen/revoked, a device, topic org   -> unknown_device / suspended_device /
                                                                     revoked_device / wrong_topic
  6. signature with the device's registered key                   -> bad_signature
  7. sequence: (device, seq) taken by other bytes, or at/below the highest accepted -> replay;
     above highest + 1: accepted, and the verdict reports the gap.
Step 4 comes before the device checks so that a redelivery of a message accepted before its device was frozen is
acknowledged as what it is, not refused: the message is already on its way to the chain.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Sequence

from chain.crypto import BatchVerifier, verify_serial

from iot_bridge.devices import FROZEN, REVOKED, Device, DeviceRegistry
from iot_bridge.errors import (
    BAD_SIGNATURE,
    REPLAY,
    REVOKED_DEVICE,
    SUSPENDED_DEVICE,
    UNKNOWN_DEVICE,
    WRONG_TOPIC,
    BridgeError,
)
from iot_bridge.message import MAX_MESSAGE_BYTES, DeviceMessage, SignedMessage, decode_message
from iot_bridge.outbox import Outbox, OutboxRow, now_ms

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
TOPIC_SUFFIX = "events"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one message. `reason` is a code of iot_bridge.errors ("" unless refused); `gap` counts the
    sequence numbers skipped before an accepted message; `field` names the offending part of a refused one."""

    status: str
    reason: str
    detail: str
    device: str
    seq: int | None
    gap: int = 0
    field: str = ""
    digest: bytes = b""


class RecentMessages:
    """The decoded messages the intake stored lately, by digest (bounded, thread safe): the drain takes them from
    here instead of decoding each message's bytes a second time. A miss only costs that decode."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._items: dict[bytes, DeviceMessage] = {}
        self._lock = threading.Lock()

    def put(self, digest: bytes, message: DeviceMessage) -> None:
        with self._lock:
            self._items[digest] = message
            while len(self._items) > self.limit:
                del self._items[next(iter(self._items))]

    def take(self, digest: bytes) -> DeviceMessage | None:
        """The message stored with this digest, once (None if unknown or already taken)."""
        with self._lock:
            return self._items.pop(digest, None)

    def __len__(self) -> int:
        return len(self._items)


def parse_topic(topic: str, prefix: str) -> tuple[str, str]:
    """(organisation, device) of `<prefix>/<org>/<device>/events`, or BridgeError(WRONG_TOPIC)."""
    head = prefix + "/"
    parts = topic[len(head):].split("/") if topic.startswith(head) else []
    if len(parts) != 3 or parts[2] != TOPIC_SUFFIX or not parts[0] or not parts[1]:
        raise BridgeError(WRONG_TOPIC, f"expected {prefix}/<org>/<device>/{TOPIC_SUFFIX}, got {topic[:200]!r}", "topic")
    if any(c in topic for c in "+#\x00"):
        raise BridgeError(WRONG_TOPIC, "a topic name holds no wildcard or NUL", "topic")
    return parts[0], parts[1]


def check_device(device: Device | None, address: str, topic_org: str) -> Device:
    """The registered, active device behind `address`, published under its own organisation."""
    if device is None:
        raise BridgeError(UNKNOWN_DEVICE, f"no device {address} is registered on chain", "payload.device")
    if device.state == REVOKED:
        raise BridgeError(REVOKED_DEVICE, f"device {address} is revoked", "payload.device")
    if device.state == FROZEN:
        raise BridgeError(SUSPENDED_DEVICE, f"device {address} is suspended (frozen on chain)", "payload.device")
    if not device.is_device:
        raise BridgeError(UNKNOWN_DEVICE, f"{address} is registered, but not as a device", "payload.device")
    if device.organisation != topic_org:
        raise BridgeError(WRONG_TOPIC, f"device {address} belongs to {device.organisation!r}, not {topic_org!r}",
                          "topic")
    return device


class Intake:
    """Judges messages and stores the accepted ones in the outbox (one writer: use one Intake per outbox)."""

    def __init__(self, outbox: Outbox, devices: DeviceRegistry, topic_prefix: str = "trace", *,
                 max_bytes: int = MAX_MESSAGE_BYTES, verifier: BatchVerifier | None = None) -> None:
        self.outbox = outbox
        self.devices = devices
        self.topic_prefix = topic_prefix.rstrip("/")
        self.max_bytes = max_bytes
        self.verifier = verifier
        self._last: dict[str, int] = {}  # device -> highest stored seq (this intake is the only writer)
        #: Decoded messages of the rows stored lately, for a drain in the same process (Drainer(messages=...)).
        self.recent = RecentMessages()

    def accept(self, topic: str, payload: bytes) -> Verdict:
        """Judge and store one message (see accept_many)."""
        return self.accept_many([(topic, payload)])[0]

    def accept_many(self, items: Sequence[tuple[str, bytes]]) -> list[Verdict]:
        """A verdict per (topic, payload), in order; every accepted message is durable when this returns."""
        verdicts: list[Verdict | None] = [None] * len(items)
        judged: list[tuple[int, str, SignedMessage]] = []
        for i, (topic, payload) in enumerate(items):
            try:
                org, topic_device = parse_topic(topic, self.topic_prefix)
                signed = decode_message(payload, self.max_bytes)
                if topic_device != signed.message.device:
                    raise BridgeError(WRONG_TOPIC, f"the topic names device {topic_device[:60]!r}, the message "
                                      f"{signed.message.device}", "topic")
                judged.append((i, org, signed))
            except BridgeError as exc:
                verdicts[i] = _refused(exc, _peek_device(topic, self.topic_prefix), None)
        # Only a seq at or below the device's highest stored one can be in the outbox already (one writer): the
        # rest are new, and need no look-up.
        stored = self.outbox.digests({(s.message.device, s.message.seq) for _, _, s in judged
                                      if s.message.seq <= self._highest_stored(s.message.device)})

        checked: list[tuple[int, SignedMessage, Device]] = []
        for i, org, signed in judged:
            m = signed.message
            if stored.get((m.device, m.seq)) == signed.digest:
                verdicts[i] = Verdict(DUPLICATE, "", "already accepted (a redelivery)", m.device, m.seq,
                                      digest=signed.digest)
                continue
            try:
                checked.append((i, signed, check_device(self.devices.get(m.device), m.device, org)))
            except BridgeError as exc:
                verdicts[i] = _refused(exc, m.device, m.seq)

        valid = self._verify(checked)
        rows: list[OutboxRow] = []
        accepted: list[int] = []
        batch: dict[tuple[str, int], bytes] = {}
        last: dict[str, int] = {}
        received = now_ms()
        for (i, signed, device), ok in zip(checked, valid):
            m = signed.message
            if not ok:
                verdicts[i] = _refused(BridgeError(BAD_SIGNATURE, "the signature does not verify with the device's "
                                                   "registered key", "signature"), m.device, m.seq)
                continue
            key = (m.device, m.seq)
            previous = batch.get(key, stored.get(key))
            if previous is not None:
                verdicts[i] = (Verdict(DUPLICATE, "", "already accepted (a redelivery)", m.device, m.seq,
                                       digest=signed.digest) if previous == signed.digest else
                               _refused(BridgeError(REPLAY, f"seq {m.seq} was already used by another message",
                                                    "payload.seq"), m.device, m.seq))
                continue
            highest = last[m.device] if m.device in last else self._highest(m.device)
            # A seq at or below the highest that was never stored is a late arrival (a broker restart can
            # deliver a session's queued messages after newer ones): new, so accepted. A replay is a seq
            # already stored (every accepted message stays in the outbox), refused just above.
            gap = max(0, m.seq - highest - 1)
            if m.seq < highest:
                log.info("device %s: seq %d arrives after %d (late, accepted)", m.device, m.seq, highest)
            last[m.device] = max(highest, m.seq)
            batch[key] = signed.digest
            rows.append(OutboxRow(m.device, m.seq, signed.digest, items[i][0], signed.raw, device.organisation,
                                  received, public_key=device.public_key.encode()))
            accepted.append(i)
            self.recent.put(signed.digest, m)
            detail = (f"accepted; {gap} sequence number(s) skipped" if gap else
                      "accepted (late: after a higher seq)" if m.seq < highest else "accepted")
            verdicts[i] = Verdict(ACCEPTED, "", detail, m.device, m.seq, gap, digest=signed.digest)
            if gap:
                log.warning("device %s: seq %d follows %d (%d missing)", m.device, m.seq, highest, gap)

        if rows:
            added = self.outbox.add_many(rows)  # one transaction: durable here, or an exception and nothing acked
            for i, row, ok in zip(accepted, rows, added):
                if not ok:  # another writer stored it meanwhile: judge against what is there
                    there = self.outbox.digests([row.key]).get(row.key)
                    verdicts[i] = (Verdict(DUPLICATE, "", "already accepted (a redelivery)", row.device, row.seq,
                                           digest=row.digest) if there == row.digest else
                                   _refused(BridgeError(REPLAY, f"seq {row.seq} was already used by another message",
                                                        "payload.seq"), row.device, row.seq))
            self._last.update(last)
        return [v for v in verdicts if v is not None]

    def _highest_stored(self, device: str) -> int:
        """Like _highest, but without caching a device not seen yet (it may be unknown: not worth remembering)."""
        found = self._last.get(device)
        return self.outbox.last_seq(device) if found is None else found

    def _highest(self, device: str) -> int:
        found = self._last.get(device)
        if found is None:
            found = self._last[device] = self.outbox.last_seq(device)
        return found

    def _verify(self, checked: Sequence[tuple[int, SignedMessage, Device]]) -> list[bool]:
        items = [signed.verify_item(device.public_key) for _, signed, device in checked]
        present = [item for item in items if item is not None]
        verify = self.verifier.verify if self.verifier is not None else verify_serial
        results = iter(verify(present) if present else [])
        return [False if item is None else next(results) for item in items]


def _refused(exc: BridgeError, device: str, seq: int | None) -> Verdict:
    return Verdict(REFUSED, exc.code, exc.message, device, seq, field=exc.field)


def _peek_device(topic: str, prefix: str) -> str:
    """The device a topic names, if it has the right shape (for refusal reports before decoding)."""
    try:
        return parse_topic(topic, prefix)[1]
    except BridgeError:
        return ""
