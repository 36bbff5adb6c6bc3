"""Four validators in one process over real TLS: blocks are ordered, executed and certified identically everywhere."""
from __future__ import annotations

import asyncio
from pathlib import Path

from tests.chain.node.bft.cluster import Cluster, running, wait_for


def _run(coro: object, timeout: float = 90) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


def test_four_validators_commit_the_same_blocks(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            txs = cluster.writes(200, "a")
            for k in range(4):
                verdicts = await cluster.services[k].submit([t.encode() for t in txs[k * 50:(k + 1) * 50]])
                assert all(v["accepted"] for v in verdicts), verdicts[:2]
            for t in txs:
                outcome = await cluster.services[0].wait(t.hash, 30)
                assert outcome["status"] == "committed", outcome
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), what="all heights")
            for h in range(1, top + 1):
                hashes = {s.chain.block_hash(h) for s in cluster.services.values()}
                assert len(hashes) == 1, f"height {h} differs"
                assert cluster.services[0].chain.certificate(h).problems(
                    cluster.services[0].chain.validators(), hashes.pop(), h) is None
            for t in txs:
                assert all(s.chain.locate(t.hash) is not None for s in cluster.services.values())

    _run(scenario())


async def _submit_and_wait(cluster: Cluster, via: int, count: int, tag: str, timeout: float = 30) -> list[bytes]:
    txs = cluster.writes(count, tag)
    verdicts = await cluster.services[via].submit([t.encode() for t in txs])
    assert all(v["accepted"] for v in verdicts), verdicts[:2]
    for t in txs:
        outcome = await cluster.services[via].wait(t.hash, timeout)
        assert outcome["status"] == "committed", f"{outcome}\n{cluster.diagnosis()}"
    return [t.hash for t in txs]


def _same_chain(cluster: Cluster) -> None:
    chains = [s.chain for s in cluster.services.values()]
    top = min(c.height for c in chains)
    for h in range(1, top + 1):
        assert len({c.block_hash(h) for c in chains}) == 1, f"height {h} differs"


def test_one_validator_down_commits_continue_and_it_catches_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            leader = cluster.services[0].engine.committee.leader(cluster.services[0].engine.replica.round)  # type: ignore[attr-defined]
            victim = leader if leader != 0 else 1
            await cluster.stop(victim)
            done = await _submit_and_wait(cluster, 0, 60, "down")
            await cluster.start(victim)
            top = cluster.services[0].chain.height
            await wait_for(lambda: cluster.services[victim].chain.height >= top, 30, "the restarted validator to catch up")
            _same_chain(cluster)
            assert all(cluster.services[victim].chain.locate(h) is not None for h in done)
            await _submit_and_wait(cluster, victim, 20, "after")
            _same_chain(cluster)

    _run(scenario(), 120)


def test_two_of_four_down_no_commits_then_progress_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            await cluster.stop(2)
            await cluster.stop(3)
            before = cluster.services[0].chain.height
            txs = cluster.writes(10, "stalled")
            verdicts = await cluster.services[0].submit([t.encode() for t in txs])
            assert all(v["accepted"] for v in verdicts)
            await asyncio.sleep(3)
            assert cluster.services[0].chain.height == before and cluster.services[1].chain.height == before
            await cluster.start(2)
            await cluster.start(3)
            for t in txs:
                outcome = await cluster.services[0].wait(t.hash, 30)
                assert outcome["status"] == "committed", outcome
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), 30, "all heights")
            _same_chain(cluster)

    _run(scenario(), 120)


def test_verified_candidates_are_dropped_once_executed_or_evicted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            await _submit_and_wait(cluster, 1, 40, "mem")
            top = cluster.services[1].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), 30, "all heights")
            engines = [s.engine for s in cluster.services.values()]
            await wait_for(lambda: not any(e._ordered for e in engines), 30, "ordered blocks to execute")  # type: ignore[attr-defined]
            for engine in engines:
                assert not engine._candidates  # type: ignore[attr-defined]
                engine._candidates[b"evicted-digest"] = []  # type: ignore[attr-defined]
                engine._prune_candidates()  # type: ignore[attr-defined]
                assert b"evicted-digest" not in engine._candidates  # type: ignore[attr-defined]

    _run(scenario(), 120)


def test_the_whole_consortium_restarts_under_load_and_resumes(tmp_path: Path) -> None:
    """All validators stop at once (mid-round, blocks certified but not committed) and start again, six times.

    The restored high QC names a block that only the voters' stores still hold;
    each restart must go on committing, and every acknowledged write is on every node.
    """
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            await cluster.setup_account(0)
            accepted: list[bytes] = []
            for restart in range(6):
                txs = cluster.writes(120, f"restart{restart}")
                verdicts = await cluster.services[restart % 4].submit([t.encode() for t in txs])
                assert all(v["accepted"] for v in verdicts), verdicts[:2]
                accepted += [t.hash for t in txs]
                await asyncio.sleep(0.05 + 0.07 * restart)  # stop with blocks in flight
                await asyncio.gather(*(cluster.stop(i) for i in range(4)))
                for i in range(4):
                    await cluster.start(i)
            for tx_hash in accepted:
                outcome = await cluster.services[0].wait(tx_hash, 45)
                assert outcome["status"] == "committed", f"{outcome}\n{cluster.diagnosis()}"
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), 30, "all heights")
            _same_chain(cluster)
            assert all(s.chain.locate(h) is not None for s in cluster.services.values() for h in accepted)

    _run(scenario(), 240)
