"""Four validators as real processes: kill -9 (leader included) under load, restart and catch up; 2 of 4 stop progress."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from chain.ledger.operations import WriteKV
from tests.chain.node.multinode.consortium import LEDGER, Consortium, Load


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _everywhere(consortium: Consortium, tx_hashes: list[bytes]) -> None:
    for i in range(len(consortium.homes)):
        with consortium.client(i) as c:
            missing = [h for h in tx_hashes if c.call("outcome", ledger=LEDGER, tx_hash=h)["status"] != "committed"]
        assert not missing, f"node {i} lacks {len(missing)} acknowledged transactions"


@pytest.fixture
def consortium(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Consortium.start(tmp_path / "net")
    try:
        net.create_account()
        yield net
    finally:
        net.stop()


def test_killing_any_validator_including_the_leader_does_not_stop_commits(consortium: Consortium) -> None:
    victims = [consortium.leader_node(), None]
    for victim in victims:
        victim = victim if victim is not None else (victims[0] + 1) % 4  # then a non-leader
        load = Load(consortium, live=set(range(4)) - {victim})
        load.start()
        time.sleep(1.0)
        consortium.kill9(victim)
        before = len(load.acknowledged)
        _wait(lambda: len(load.acknowledged) >= before + 100, 40, f"commits with node {victim} killed")
        load.stop()
        consortium.restart()
        top = max(consortium.heights([i for i in range(4) if i != victim]))
        _wait(lambda: consortium.heights([victim])[0] >= top, 40, f"node {victim} to catch up")
        _everywhere(consortium, load.acknowledged)


def test_two_of_four_down_stops_commits_without_divergence_and_restart_resumes(consortium: Consortium) -> None:
    consortium.kill9(2)
    consortium.kill9(3)
    before = consortium.heights([0, 1])
    with consortium.client(0) as c:
        txs = [consortium.tx(c, [WriteKV("load", f"s{j}", b"v", None)]) for j in range(10)]
        assert all(v["accepted"] for v in c.submit(LEDGER, txs))
    time.sleep(4)
    assert consortium.heights([0, 1]) == before, "no quorum, no commits"
    consortium.restart()
    with consortium.client(0) as c:
        for tx in txs:
            assert c.wait(LEDGER, tx.hash, 40_000)["status"] == "committed"
    top = max(consortium.heights([0, 1]))
    _wait(lambda: min(consortium.heights([0, 1, 2, 3])) >= top, 40, "all nodes at the same height")
    hashes = set()
    for i in range(4):
        with consortium.client(i) as c:
            hashes.add(c.call("block", ledger=LEDGER, height=top)["header"])
    assert len(hashes) == 1
    _everywhere(consortium, [t.hash for t in txs])


def test_each_nodes_ledger_audits_clean_after_crashes(consortium: Consortium) -> None:
    load = Load(consortium, live={0, 1, 2})
    load.start()
    time.sleep(1.5)
    consortium.kill9(3)
    time.sleep(1.5)
    load.stop()
    consortium.restart()
    top = max(consortium.heights([0, 1, 2]))
    _wait(lambda: consortium.heights([3])[0] >= top, 40, "node 3 to catch up")
    consortium.stop()
    consortium.audit_all()
    consortium.restart()
