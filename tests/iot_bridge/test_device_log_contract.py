"""Device log contract rules in the contract sandbox: runs, gaps and late arrivals, duplicates, ownership, the cap on
missing ranges; one run record and one event per call."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from chain.contracts.sandbox import Sandbox
from iot_bridge.contract import CONTRACT_NAME, contract_source

C = CONTRACT_NAME
ORG, OTHER = "org-a", "org-b"
DEV = "device-1"


def digest(seq: int) -> bytes:
    return hashlib.sha256(f"{DEV}/{seq}".encode()).digest()


class Log:
    def __init__(self) -> None:
        self.sb = Sandbox()
        self.sb.deploy(C, contract_source())

    def call(self, function: str, *args: Any, org: str = ORG) -> Any:
        return self.sb.invoke(C, function, *args, origin=f"user:{org}", organisation=org)

    def log(self, first: int, last: int, device: str = DEV, org: str = ORG) -> Any:
        outcome = self.call("log", device, first, [digest(s) for s in range(first, last + 1)], org=org)
        assert outcome.error is None, outcome.error.message
        return outcome

    def refused(self, first: int, last: int, words: str, device: str = DEV, org: str = ORG) -> None:
        before = (dict(self.sb.storage), list(self.sb.events))
        outcome = self.call("log", device, first, [digest(s) for s in range(first, last + 1)], org=org)
        assert outcome.error is not None, "allowed"
        assert words in outcome.error.message, outcome.error.message
        assert (dict(self.sb.storage), list(self.sb.events)) == before  # nothing written

    def record(self, device: str = DEV) -> dict[str, Any]:
        return self.call("record", device).value  # type: ignore[no-any-return]

    def logged(self, seq: int, device: str = DEV) -> bool:
        return self.call("logged", device, seq).value  # type: ignore[no-any-return]

    def check_invariant(self, device: str = DEV) -> None:
        r = self.record(device)
        assert r["count"] + sum(t - f + 1 for f, t in r["missing"]) + r.get("given_up", 0) == r["last_seq"]


@pytest.fixture()
def log() -> Log:
    return Log()


def test_in_order_runs_cost_one_run_record_and_one_event(log: Log) -> None:
    out = log.log(1, 100)
    assert [(e[0], e[1]) for e in out.events] == [(C, "LoggedRun")]
    fields = out.events[0][2]
    assert (fields["device"], fields["first_seq"], fields["count"], fields["org"]) == (DEV, 1, 100, ORG)
    assert fields["digests"] == [digest(s) for s in range(1, 101)]
    log.log(101, 356)  # a full call of 256
    r = log.record()
    assert (r["org"], r["count"], r["last_seq"], r["missing"]) == (ORG, 356, 356, [])
    assert all(log.logged(s) for s in (1, 100, 101, 356)) and not log.logged(357) and not log.logged(0)
    runs = {k: v for k, v in log.sb.storage.items() if k[0] == C}
    assert len(runs) == 3  # the device record and two run records, nothing per digest


def test_the_run_record_holds_the_hash_of_the_concatenated_digests(log: Log) -> None:
    log.log(1, 5)
    from chain.contracts import decode_value
    hashes = [decode_value(v) for k, v in log.sb.storage.items() if k[0] == C]
    expected = {"count": 5, "hash": hashlib.sha256(b"".join(digest(s) for s in range(1, 6))).digest()}
    assert expected in hashes


def test_a_gap_then_the_late_sequence_numbers_fill_it(log: Log) -> None:
    log.log(1, 3)
    log.log(10, 12)  # 4-9 missing
    assert log.record()["missing"] == [[4, 9]] and log.record()["last_seq"] == 12
    assert not log.logged(4) and not log.logged(9) and log.logged(10)
    log.log(6, 7)  # inside the range: splits it
    assert log.record()["missing"] == [[4, 5], [8, 9]]
    log.check_invariant()
    log.log(4, 4)
    log.log(5, 5)
    log.log(8, 9)
    r = log.record()
    assert (r["count"], r["last_seq"], r["missing"]) == (12, 12, [])
    assert all(log.logged(s) for s in range(1, 13))
    log.log(20, 20)  # a first log that does not start at 1 leaves the lower numbers missing
    log.log(5, 5, device="device-2")
    assert log.record("device-2")["missing"] == [[1, 4]]
    log.log(1, 4, device="device-2")
    assert log.record("device-2")["missing"] == [] and log.record("device-2")["count"] == 5


def test_a_duplicate_is_refused(log: Log) -> None:
    log.log(1, 10)
    log.refused(10, 10, "message 10 of device device-1 is already logged")
    log.refused(3, 5, "already logged")
    log.refused(9, 12, "already logged")  # crosses last_seq: 9 and 10 are logged
    assert log.record()["count"] == 10


def test_a_seq_neither_new_nor_missing_is_refused(log: Log) -> None:
    log.log(1, 2)
    log.log(8, 9)  # 3-7 missing
    log.refused(2, 3, "message 2 of device device-1 is already logged")  # starts on a logged number
    log.refused(6, 8, "message 8 of device device-1 is already logged")  # runs out of its missing range
    log.refused(7, 10, "message 8 of device device-1 is already logged")
    log.log(3, 7)
    log.refused(5, 5, "already logged")
    log.check_invariant()


def test_another_organisation_is_refused(log: Log) -> None:
    log.log(1, 1)
    log.refused(2, 2, f"the log of device {DEV} belongs to {ORG}", org=OTHER)
    log.log(1, 1, device="device-2", org=OTHER)  # its own device


def test_bad_arguments_are_refused(log: Log) -> None:
    assert "32-byte" in log.call("log", DEV, 1, [b"\x01" * 31]).error.message
    assert "32-byte" in log.call("log", DEV, 1, [b"\x01" * 32, b"\x01" * 33]).error.message
    assert "1 to 256" in log.call("log", DEV, 1, []).error.message
    assert "1 to 256" in log.call("log", DEV, 1, [b"\x01" * 32] * 257).error.message
    assert "2**63-1" in log.call("log", DEV, 0, [b"\x01" * 32]).error.message
    assert "device address" in log.call("log", "", 1, [b"\x01" * 32]).error.message


def test_missing_ranges_are_capped_by_giving_up_the_oldest(log: Log) -> None:
    for i in range(256):  # every call leaves one more gap of three: 1, 5, 9, ... logged
        log.log(4 * i + 1, 4 * i + 1)
    assert len(log.record()["missing"]) == 255
    log.log(1025, 1025)  # the 256th range
    assert len(log.record()["missing"]) == 256 and "given_up" not in log.record()
    log.log(1027, 1027)  # a new gap: the oldest range, [2, 4], is given up
    record = log.record()
    assert len(record["missing"]) == 256 and record["missing"][0] == [6, 8] and record["given_up"] == 3
    log.refused(3, 3, "already logged (or its gap was given up)")
    log.log(7, 7)  # splitting [6, 8] in two gives up the oldest piece, [6, 6]
    record = log.record()
    assert len(record["missing"]) == 256 and record["given_up"] == 4 and record["missing"][0] == [8, 8]
    log.log(1026, 1026)  # filling a range whole
    assert len(log.record()["missing"]) == 255
    log.check_invariant()
