"""Execution of the next committed block overlaps the certification and commit of the one before, with the same result."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from chain.ledger.chain_store import ChainStore
from tests.chain.node.bft.cluster import running, wait_for


def test_blocks_execute_on_uncommitted_predecessors_and_every_node_commits_the_same_chain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = ChainStore.build_ordered

    def slow_build(self: ChainStore, *args: Any) -> Any:
        time.sleep(0.12)  # execution slower than ordering: committed blocks queue up behind it
        return build(self, *args)

    monkeypatch.setattr(ChainStore, "build_ordered", slow_build)

    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            txs = cluster.writes(600, "p")
            for wave in range(6):
                for k in range(4):
                    chunk = txs[wave * 100 + k * 25: wave * 100 + (k + 1) * 25]
                    verdicts = await cluster.services[k].submit([t.encode() for t in chunk])
                    assert all(v["accepted"] for v in verdicts), verdicts[:2]
                await asyncio.sleep(0.08)
            for t in txs:
                outcome = await cluster.services[0].wait(t.hash, 60)
                assert outcome["status"] == "committed", f"{outcome}\n{cluster.diagnosis()}"
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), what="all heights")
            chains = [s.chain for s in cluster.services.values()]
            for h in range(1, top + 1):
                assert len({c.block_hash(h) for c in chains}) == 1, f"height {h} differs"
                assert len({c.state.root(h) for c in chains}) == 1
            assert all(c.locate(t.hash) is not None for c in chains for t in txs)
            pipelined = [s.engine.timings.get("pipelined_blocks", 0) for s in cluster.services.values()]  # type: ignore[attr-defined]
            assert all(p > 0 for p in pipelined), f"pipelined blocks per node {pipelined}\n{cluster.diagnosis()}"

    asyncio.run(asyncio.wait_for(scenario(), 120))
