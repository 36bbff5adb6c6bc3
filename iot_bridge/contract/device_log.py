"""Device log: a tamper-evident log of signed device messages, logged in runs of consecutive sequence numbers.

The IoT bridge of an organisation verifies each device message (COSE_Sign1,
see docs/iot.md) and logs the SHA-256 digest of its exact bytes here, a run of
consecutive sequence numbers per call. A call costs one device record write,
one run record write and one event, however many digests it carries:
- devices[device] = {"org", "count", "last_seq", "missing": [[from, to], ...],
  "since"}: the highest sequence number logged, how many are logged, and the
  ranges below last_seq not logged yet (sorted, disjoint, never adjacent);
- runs[(device, first_seq)] = {"count": n, "hash": sha256(digest_1 || ... ||
  digest_n)};
- LoggedRun(device, first_seq, count, digests, org): every (device, seq) ->
  digest, checked against the stored hash of its run.
The device's signature itself is checked off chain against the device's
certificate, which is on chain too.

Rules:
- The first organisation to log a device owns its log; only it logs more.
- A (device, seq) is logged at most once, ever: a bridge that errs (a crash
  between submit and bookkeeping, a replayed outbox) cannot put an event on
  chain twice. Sequence numbers above last_seq extend the log (a gap becomes a
  missing range); sequence numbers at or below last_seq must lie in one missing
  range (late arrivals, e.g. after a broker restart) and are taken out of it;
  anything else is "already logged". At most MAX_MISSING ranges are kept:
  beyond that the oldest are given up (counted in "given_up"; their numbers
  can no longer be logged), so a device whose refused messages left many gaps
  still logs new ones.
"""
from contract import Map, caller_org, emit, event, height, require

MAX_DIGESTS = 256
MAX_MISSING = 256
MAX_SEQ = 9223372036854775807
MAX_DEVICE = 64

devices = Map("devices")
runs = Map("runs")

LoggedRun = event("device", "first_seq", "count", "digests", "org")


def log(device: str, first_seq: int, digests: list) -> None:
    """Log digests[i] as message first_seq + i of `device` (the caller's organisation must own the device's log)."""
    n = len(digests)
    require(len(device) > 0 and len(device) <= MAX_DEVICE, "device is a device address")
    require(n > 0 and n <= MAX_DIGESTS, f"log 1 to {MAX_DIGESTS} digests at a time")
    last = first_seq + n - 1
    require(first_seq >= 1 and last <= MAX_SEQ, "sequence numbers run from 1 to 2**63-1")
    require(all([len(d) == 32 for d in digests]), "a digest is the 32-byte SHA-256 of the device message")
    joined = b"".join(digests)
    org = caller_org()
    info = devices[device] if device in devices else {"org": org, "count": 0, "last_seq": 0, "missing": [], "since": height()}
    require(info["org"] == org, f"the log of device {device} belongs to {info['org']}")
    missing = info["missing"]
    if first_seq > info["last_seq"]:
        if first_seq > info["last_seq"] + 1:
            missing.append([info["last_seq"] + 1, first_seq - 1])
        info["last_seq"] = last
    else:
        at = -1
        i = 0
        for r in missing:
            if r[0] <= first_seq and first_seq <= r[1]:
                at = i
                break
            i += 1
        require(at >= 0, f"message {first_seq} of device {device} is already logged (or its gap was given up)")
        low = missing[at][0]
        high = missing[at][1]
        require(last <= high, f"message {high + 1} of device {device} is already logged")
        pieces = []
        if low < first_seq:
            pieces.append([low, first_seq - 1])
        if last < high:
            pieces.append([last + 1, high])
        missing = missing[:at] + pieces + missing[at + 1:]
    if len(missing) > MAX_MISSING:
        # Give up the oldest gaps (messages refused for good leave gaps forever): they are counted, and
        # those numbers can no longer be logged, so the log never stops taking new messages.
        dropped = missing[:len(missing) - MAX_MISSING]
        missing = missing[len(missing) - MAX_MISSING:]
        given_up = info["given_up"] if "given_up" in info else 0
        for r in dropped:
            given_up = given_up + r[1] - r[0] + 1
        info["given_up"] = given_up
    info["missing"] = missing
    info["count"] = info["count"] + n
    devices[device] = info
    runs[(device, first_seq)] = {"count": n, "hash": sha256(joined)}
    emit(LoggedRun, device=device, first_seq=first_seq, count=n, digests=digests, org=org)


def logged(device: str, seq: int) -> bool:
    """Whether message `seq` of `device` is logged (its digest: the LoggedRun event of the run holding it)."""
    if device not in devices:
        return False
    info = devices[device]
    if seq < 1 or seq > info["last_seq"]:
        return False
    for r in info["missing"]:
        if r[0] <= seq and seq <= r[1]:
            return False
    return True


def record(device: str) -> dict:
    """The device's log record {org, count, last_seq, missing, since[, given_up]} ({} if never logged)."""
    return devices[device] if device in devices else {}
