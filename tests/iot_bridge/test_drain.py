"""The drain against a real chain: a node process, the gateway, organisations and devices registered on chain, the
device log contract deployed. Exactly once under a gateway outage and a crash between submit and bookkeeping; a
contract refusal refuses one event while its neighbours commit; the device registry follows the chain."""
from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from chain.sdk.operations import InvokeContract
from chain.sdk import encode_args
from iot_bridge.contract import CONTRACT_NAME, check_run, logged_digests, logged_runs
from iot_bridge.device_log_mapper import DeviceLogMapper
from iot_bridge.devices import DeviceRegistry
from iot_bridge.drain import Backoff, Drainer
from iot_bridge.errors import REVOKED_DEVICE, SUSPENDED_DEVICE, UNKNOWN_DEVICE
from iot_bridge.intake import ACCEPTED, REFUSED, Intake
from iot_bridge.mapping import load_mapper
from iot_bridge.message import DeviceMessage, Reading, device_address, sign_message
from iot_bridge.outbox import Outbox, OutboxRow
from tests.iot_bridge.core_fixtures import ORG, OTHER_ORG, TIME, ChainStack, fixed_key, start_chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainStack]:
    yield from start_chain(tmp_path_factory.mktemp("iot_drain"))


@pytest.fixture(scope="module")
def registry(chain: ChainStack) -> DeviceRegistry:
    return DeviceRegistry(chain.client(ORG), refresh_s=0.0, miss_refresh_s=0.0)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


class Devices:
    """Devices registered on the test chain, and their messages."""

    def __init__(self, chain: ChainStack, prefix: str, count: int, org: str = ORG) -> None:
        self.org = org
        self.keys = dict(chain.register_device(f"{prefix}-{i}", org) for i in range(count))

    def items(self, per_device: int, first: int = 1) -> list[tuple[str, bytes]]:
        out = []
        for seq in range(first, first + per_device):
            for address, key in self.keys.items():
                message = DeviceMessage(address, seq, TIME, Reading("temperature", f"{seq % 40}.5", "CEL"))
                out.append((f"trace/{self.org}/{address}/events", sign_message(key, message)))
        return out


def _accept(outbox: Outbox, registry: DeviceRegistry, items: list[tuple[str, bytes]]) -> None:
    intake = Intake(outbox, registry)
    for start in range(0, len(items), 500):
        verdicts = intake.accept_many(items[start:start + 500])
        assert all(v.status == ACCEPTED for v in verdicts), [v for v in verdicts if v.status != ACCEPTED][:3]


def _drainer(chain: ChainStack, outbox: Outbox, registry: DeviceRegistry, **options: Any) -> Drainer:
    return Drainer(outbox, DeviceLogMapper(), chain.client, devices=registry, **options)


def _drain_all(drainer: Drainer, outbox: Outbox, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while outbox.counts()["pending"] + outbox.counts()["submitted"]:
        assert time.monotonic() < deadline, (outbox.counts(), drainer.last_error)
        drainer.run_once()
        if drainer.backoff.failures:
            time.sleep(drainer.backoff.delay())


def _logged(chain: ChainStack, devices: set[str], from_height: int = 1) -> Counter[tuple[str, int]]:
    """How many times the chain's LoggedRun events log each (device, seq) of these devices."""
    return Counter({key: len(digests) for key, digests in logged_digests(chain.admin, from_height, devices).items()})


def _assert_exactly_once(chain: ChainStack, outbox: Outbox, devices: set[str]) -> None:
    rows = [r for r in outbox.rows() if r.device in devices]
    assert rows and all(r.status == "committed" and r.height and r.tx_hash for r in rows)
    digests = logged_digests(chain.admin, 1, devices)
    assert set(digests) == {r.key for r in rows}
    assert {r.key: digests[r.key] for r in rows} == {r.key: [r.digest] for r in rows}  # once, with its digest


def test_drains_2000_messages_exactly_once(chain: ChainStack, registry: DeviceRegistry, outbox: Outbox) -> None:
    fleet = Devices(chain, "bulk", 4)
    _accept(outbox, registry, fleet.items(500))
    drainer = _drainer(chain, outbox, registry)
    started = time.perf_counter()
    _drain_all(drainer, outbox)
    elapsed = time.perf_counter() - started
    print(f"\ndrain: 2,000 events committed in {elapsed:.2f} s ({2000 / elapsed:,.0f}/s, "
          f"{drainer.stats['transactions']} transactions, one solo validator)")
    _assert_exactly_once(chain, outbox, set(fleet.keys))
    assert drainer.stats["resubmitted"] == 0 and outbox.submitted() == []
    row = outbox.get(next(iter(fleet.keys)), 7)
    assert row is not None
    assert chain.admin.simulate(CONTRACT_NAME, "logged", row.device, 7)["value"] is True
    assert chain.admin.simulate(CONTRACT_NAME, "logged", row.device, 501)["value"] is False
    runs = [(first, digests) for device, first, digests in logged_runs(chain.admin, 1, {row.device})
            if first <= 7 < first + len(digests)]
    assert len(runs) == 1 and runs[0][1][7 - runs[0][0]] == row.digest
    assert check_run(chain.admin, row.device, runs[0][0], runs[0][1])  # the run's hash, proven
    assert not check_run(chain.admin, row.device, runs[0][0], runs[0][1][:-1] + [b"\x00" * 32])


def test_gateway_outage_loses_and_doubles_nothing(chain: ChainStack, registry: DeviceRegistry, outbox: Outbox) -> None:
    fleet = Devices(chain, "outage", 3)
    _accept(outbox, registry, fleet.items(300))
    drainer = _drainer(chain, outbox, registry, batch_size=100, max_ops_per_tx=50,
                       backoff=Backoff(initial_s=0.1, cap_s=0.5))
    stop = threading.Event()
    thread = threading.Thread(target=drainer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while outbox.counts()["committed"] < 100:
            assert time.monotonic() < deadline, outbox.counts()
            time.sleep(0.01)
        chain.stop_gateway()
        time.sleep(3)
        assert drainer.stats["errors"] > 0 and outbox.counts()["committed"] < 900
        chain.start_gateway()
        deadline = time.monotonic() + 120
        while outbox.counts()["committed"] < 900:
            assert time.monotonic() < deadline, (outbox.counts(), drainer.last_error)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
        if chain.server is None:
            chain.start_gateway()
    _assert_exactly_once(chain, outbox, set(fleet.keys))


def _submit_by_hand(chain: ChainStack, outbox: Outbox, rows: list[OutboxRow], ttl: int = 100,
                    send: bool = True) -> bytes:
    """What a drain does up to the crash: build, store as submitted, (submit and commit); no bookkeeping after."""
    client = chain.client(ORG)
    ops = [InvokeContract(CONTRACT_NAME, "log", encode_args([r.device, r.seq, [r.digest]])) for r in rows]
    tx = client.build(ops, ttl=ttl)
    outbox.mark_submitted([r.key for r in rows], tx.hash, tx.encode(), ORG)
    if send:
        outcome = client.submit([tx], wait_ms=30_000)[0]["outcome"]
        assert outcome["receipt"]["code_name"] == "SUCCESS"
    return tx.hash


def test_recover_after_a_crash_between_submit_and_bookkeeping(chain: ChainStack, registry: DeviceRegistry,
                                                              outbox: Outbox) -> None:
    fleet = Devices(chain, "crash", 2)
    _accept(outbox, registry, fleet.items(10))
    pending = outbox.pending(100)
    committed_hash = _submit_by_hand(chain, outbox, pending[:8])          # crashed after the commit
    unsent_hash = _submit_by_hand(chain, outbox, pending[8:14], send=False)  # crashed before the submit
    drainer = _drainer(chain, outbox, registry)  # the restarted bridge
    drainer.recover()
    assert outbox.submitted() == [] and drainer.stats["resubmitted"] == 1
    assert {outbox.get(*r.key).tx_hash for r in pending[:8]} == {committed_hash}  # type: ignore[union-attr]
    assert {outbox.get(*r.key).tx_hash for r in pending[8:14]} == {unsent_hash}  # type: ignore[union-attr]
    _drain_all(drainer, outbox)
    _assert_exactly_once(chain, outbox, set(fleet.keys))


def test_an_expired_transaction_goes_back_to_pending(chain: ChainStack, registry: DeviceRegistry,
                                                     outbox: Outbox) -> None:
    fleet = Devices(chain, "expiry", 1)
    _accept(outbox, registry, fleet.items(3))
    rows = outbox.pending(10)
    _submit_by_hand(chain, outbox, rows, ttl=1, send=False)
    for label in ("ticker-1", "ticker-2"):  # two more blocks: the stored transaction can no longer commit
        chain.register_device(label)
    drainer = _drainer(chain, outbox, registry)
    drainer.recover()
    assert drainer.stats["released"] == 3 and drainer.stats["resubmitted"] == 0
    assert [r.status for r in outbox.rows()] == ["pending"] * 3
    _drain_all(drainer, outbox)
    _assert_exactly_once(chain, outbox, set(fleet.keys))


def test_a_contract_refusal_refuses_that_event_only(chain: ChainStack, registry: DeviceRegistry,
                                                     outbox: Outbox) -> None:
    fleet = Devices(chain, "refusal", 1)
    device = next(iter(fleet.keys))
    _accept(outbox, registry, fleet.items(5))
    chain.client(ORG).invoke(CONTRACT_NAME, "log", device, 3, [b"\x01" * 32])  # someone logged seq 3 already
    refused: list[tuple[OutboxRow, str]] = []
    drainer = _drainer(chain, outbox, registry, on_refused=lambda row, why: refused.append((row, why)))
    _drain_all(drainer, outbox)
    status = {r.seq: r.status for r in outbox.rows()}
    assert status == {1: "committed", 2: "committed", 3: "refused", 4: "committed", 5: "committed"}
    row = outbox.get(device, 3)
    assert row is not None and row.error.startswith("chain_refused: ") and "already logged" in row.error
    assert [(r.seq, why) for r, why in refused] == [(3, row.error)]
    counts = _logged(chain, {device})
    assert counts == Counter({(device, s): 1 for s in (1, 2, 3, 4, 5)})  # seq 3 once: the earlier entry


def test_another_organisation_cannot_take_over_a_device_log(chain: ChainStack) -> None:
    fleet = Devices(chain, "owned", 1)
    device = next(iter(fleet.keys))
    assert chain.client(ORG).invoke(CONTRACT_NAME, "log", device, 1, [b"\x02" * 32])["receipt"]["code_name"] == "SUCCESS"
    outcome = chain.client(OTHER_ORG).invoke(CONTRACT_NAME, "log", device, 2, [b"\x03" * 32])
    assert outcome["receipt"]["code_name"] != "SUCCESS" and "belongs to" in outcome["receipt"]["message"]


def test_the_registry_follows_the_chain(chain: ChainStack, outbox: Outbox) -> None:
    registry = DeviceRegistry(chain.client(ORG), refresh_s=0.0, miss_refresh_s=0.0)
    intake = Intake(outbox, registry)
    address, key = chain.register_device("lifecycle")
    seq = iter(range(1, 100))

    def send() -> Any:
        message = DeviceMessage(address, next(seq), TIME, Reading("temperature", "1", "CEL"))
        return intake.accept(f"trace/{ORG}/{address}/events", sign_message(key, message))

    assert send().status == ACCEPTED  # registered a moment ago: found by the refresh on a miss
    chain.set_state(address, "FROZEN")
    assert (send().status, send().reason) == (REFUSED, SUSPENDED_DEVICE)
    chain.set_state(address, "NORMAL")
    verdict = send()
    assert verdict.status == ACCEPTED and verdict.gap == 2  # the two refused numbers were never stored
    chain.set_state(address, "REVOKED")
    assert send().reason == REVOKED_DEVICE
    stranger = fixed_key("never registered")
    message = DeviceMessage(device_address(stranger), 1, TIME, Reading("temperature", "1", "CEL"))
    assert intake.accept(f"trace/{ORG}/{device_address(stranger)}/events",
                         sign_message(stranger, message)).reason == UNKNOWN_DEVICE
    assert {d.address for d in registry.devices()} >= {address}


def test_load_mapper_wires_a_mapper_by_name() -> None:
    mapper = load_mapper("iot_bridge.device_log_mapper:DeviceLogMapper", contract="my_log")
    assert isinstance(mapper, DeviceLogMapper) and mapper.contract == "my_log"
    for bad in ("iot_bridge.device_log_mapper", "no.such.module:x", "iot_bridge.device_log_mapper:Nope",
                "iot_bridge.errors:BridgeError"):
        with pytest.raises((ValueError, TypeError)):
            load_mapper(bad)


def test_merged_calls_log_each_event_once_and_isolate_a_refusal(chain: ChainStack, registry: DeviceRegistry,
                                                                outbox: Outbox) -> None:
    """Consecutive sequence numbers of one device become one `log` call; each event is still on chain exactly once
    (read back from the contract storage), and a refused event inside a merged run is refused alone."""
    fleet = Devices(chain, "merged", 3)
    bad_device, *good_devices = sorted(fleet.keys)
    _accept(outbox, registry, fleet.items(40))
    chain.client(ORG).invoke(CONTRACT_NAME, "log", bad_device, 17, [b"\x05" * 32])  # seq 17 taken already
    refused: list[tuple[OutboxRow, str]] = []
    drainer = _drainer(chain, outbox, registry, on_refused=lambda row, why: refused.append((row, why)))
    _drain_all(drainer, outbox)
    assert drainer.stats["split"] == 1  # the merged run of bad_device was refused once, then retried one by one
    assert drainer.stats["calls"] < 120  # merged: far fewer calls than events
    assert [(r.device, r.seq) for r, _ in refused] == [(bad_device, 17)]
    assert "already logged" in refused[0][1]
    status = {r.key: r.status for r in outbox.rows() if r.device in fleet.keys}
    assert status == {(d, s): ("refused" if (d, s) == (bad_device, 17) else "committed")
                      for d in fleet.keys for s in range(1, 41)}
    admin = chain.admin
    digests = logged_digests(admin, 1, set(fleet.keys))
    for row in outbox.rows():
        if row.device in fleet.keys:
            assert digests[row.key] == [b"\x05" * 32 if row.status == "refused" else row.digest]
    for device in good_devices:
        info = admin.contract_value(CONTRACT_NAME, "devices", device)
        assert info["count"] == 40 and info["last_seq"] == 40 and info["missing"] == []
    assert admin.contract_value(CONTRACT_NAME, "devices", bad_device)["count"] == 40  # 39 + the earlier entry
    counts = _logged(chain, set(fleet.keys))
    assert counts == Counter({(d, s): 1 for d in fleet.keys for s in range(1, 41)})


def test_device_log_mapper_merges_runs_of_consecutive_sequence_numbers() -> None:
    from iot_bridge.mapping import Invocation, MergingMapper
    mapper = DeviceLogMapper(max_merge=3)
    assert isinstance(mapper, MergingMapper)
    calls = [Invocation(CONTRACT_NAME, "log", [d, s, [bytes([s]) * 32]])
             for d, s in [("a", 1), ("b", 5), ("a", 2), ("b", 6), ("a", 4), ("a", 5), ("a", 6), ("a", 7), ("b", 7)]]
    merged = mapper.merge(calls)
    assert [(m.args[0], m.args[1], len(m.args[2]), idx) for m, idx in merged] == [
        ("a", 1, 2, [0, 2]), ("b", 5, 3, [1, 3, 8]), ("a", 4, 3, [4, 5, 6]), ("a", 7, 1, [7])]
    assert merged[0][0].args[2] == [bytes([1]) * 32, bytes([2]) * 32]


def test_pipelined_drain_keeps_exactly_once_and_each_devices_order(chain: ChainStack, registry: DeviceRegistry,
                                                                   outbox: Outbox) -> None:
    """Several transactions in flight at once (the next batch submitted while earlier ones wait for their block):
    every event on chain exactly once, and each device's events logged in sequence order."""
    fleet = Devices(chain, "pipeline", 3)
    _accept(outbox, registry, fleet.items(150))
    start = int(chain.admin.status()["height"])
    drainer = _drainer(chain, outbox, registry, batch_size=40, max_ops_per_tx=8, max_in_flight=4, min_batch=1)
    peak = 0
    deadline = time.monotonic() + 120
    while outbox.counts()["pending"] + outbox.counts()["submitted"]:
        assert time.monotonic() < deadline, (outbox.counts(), drainer.last_error)
        drainer.run_once()
        peak = max(peak, drainer.in_flight)
        assert drainer.in_flight <= 4
    assert peak > 1, "the drain never had two transactions in flight"
    assert drainer.in_flight == 0 and outbox.submitted() == []
    _assert_exactly_once(chain, outbox, set(fleet.keys))
    order: dict[str, list[int]] = {}
    for device, first, digests in logged_runs(chain.admin, start, set(fleet.keys)):
        order.setdefault(device, []).extend(range(first, first + len(digests)))
    assert order == {device: list(range(1, 151)) for device in fleet.keys}


def test_drain_takes_decoded_messages_from_the_intake(chain: ChainStack, registry: DeviceRegistry,
                                                      outbox: Outbox) -> None:
    """The drain reuses what the intake decoded (Intake.recent) and still decodes rows it does not find there."""
    fleet = Devices(chain, "recent", 2)
    intake = Intake(outbox, registry)
    verdicts = intake.accept_many(fleet.items(20))
    assert all(v.status == ACCEPTED for v in verdicts) and len(intake.recent) == 40
    first = outbox.pending(1)[0]
    assert intake.recent.take(first.digest) is not None  # this one the drain must decode itself
    drainer = _drainer(chain, outbox, registry, messages=intake.recent)
    _drain_all(drainer, outbox)
    assert len(intake.recent) == 0
    _assert_exactly_once(chain, outbox, set(fleet.keys))
