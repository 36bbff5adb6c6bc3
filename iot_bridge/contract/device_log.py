"""Device log: a tamper-evident log of signed device messages, one entry per (device, sequence number).

The IoT bridge of an organisation verifies each device message (COSE_Sign1,
see docs/iot.md) and logs the SHA-256 digest of its exact bytes here. Anyone
holding a message can then prove it was logged, and when: hash it, and read
entries[(device, seq)] with a state proof. The device's signature itself is
checked off chain against the device's certificate, which is on chain too.

Rules:
- The first organisation to log a device owns its log; only it logs more.
- A (device, seq) is logged at most once, ever: a bridge that errs (a crash
  between submit and bookkeeping, a replayed outbox) cannot put an event on
  chain twice. Sequence numbers need not arrive in order: a refused neighbour
  retried after a later message was logged must still land.
"""
from contract import Map, caller_org, emit, event, height, require

MAX_DIGESTS = 256
MAX_SEQ = 9223372036854775807
MAX_DEVICE = 64

entries = Map("entries")
devices = Map("devices")

Logged = event("device", "seq", "digest", "org")


def log(device: str, first_seq: int, digests: list) -> None:
    """Log digests[i] as message first_seq + i of `device` (the caller's organisation must own the device's log)."""
    require(len(device) > 0 and len(device) <= MAX_DEVICE, "device is a device address")
    require(len(digests) > 0 and len(digests) <= MAX_DIGESTS, f"log 1 to {MAX_DIGESTS} digests at a time")
    require(first_seq >= 1 and first_seq + len(digests) - 1 <= MAX_SEQ, "sequence numbers run from 1 to 2**63-1")
    org = caller_org()
    info = devices[device] if device in devices else {"org": org, "last_seq": 0, "count": 0, "since": height()}
    require(info["org"] == org, f"the log of device {device} belongs to {info['org']}")
    seq = first_seq
    for digest in digests:
        require(len(digest) == 32, "a digest is the 32-byte SHA-256 of the device message")
        require((device, seq) not in entries, f"message {seq} of device {device} is already logged")
        entries[(device, seq)] = digest
        emit(Logged, device=device, seq=seq, digest=digest, org=org)
        seq += 1
    info["last_seq"] = max(info["last_seq"], seq - 1)
    info["count"] = info["count"] + len(digests)
    devices[device] = info


def logged(device: str, seq: int) -> bytes:
    """The digest logged as message `seq` of `device` (empty if none)."""
    return entries[(device, seq)] if (device, seq) in entries else b""
