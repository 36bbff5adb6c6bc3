"""A validator down for longer than its peers keep consensus blocks, across a membership change, catches up by ledger blocks."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from chain.ledger.operations import ApproveNodeChange, RegisterNode
from tests.chain.node.bft.cluster import FAST, Cluster, running, wait_for

SHORT_MEMORY = replace(FAST, replica=replace(FAST.replica, archive=20))  # peers keep only 20 committed blocks


async def _commit(cluster: Cluster, via: int, ops: list[Any], signer: int = 0) -> None:
    tx = cluster.tx(ops, signer)
    assert (await cluster.services[via].submit([tx.encode()]))[0]["accepted"]
    outcome = await cluster.services[via].wait(tx.hash, 60)
    assert outcome["status"] == "committed" and outcome["receipt"]["code_name"] == "SUCCESS", outcome


async def _rounds(cluster: Cluster, via: int, rounds: int, tag: str) -> list[bytes]:
    done = []
    for r in range(rounds):
        txs = cluster.writes(5, f"{tag}{r}")
        assert all(v["accepted"] for v in await cluster.services[via].submit([t.encode() for t in txs]))
        for t in txs:
            assert (await cluster.services[via].wait(t.hash, 60))["status"] == "committed"
        done += [t.hash for t in txs]
    return done


def _engine(cluster: Cluster, i: int) -> Any:
    return cluster.services[i].engine


def test_a_validator_far_behind_catches_up_by_certified_ledger_blocks_and_votes_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, n=4, spares=1, settings=SHORT_MEMORY) as cluster:
            await cluster.stop(3)
            written = await _rounds(cluster, 0, 30, "before")
            node = cluster.nodes[4]
            await _commit(cluster, 0, [RegisterNode(node.certificate.der, node.key.public_key().encode())], 0)
            await _commit(cluster, 0, [ApproveNodeChange(node.address)], 1)
            await wait_for(lambda: all(_engine(cluster, i).me is not None for i in (0, 1, 2, 4)), timeout=60,
                           what="node 4 seated")
            written += await _rounds(cluster, 0, 30, "after")
            assert _engine(cluster, 0).replica.tree.committed.height > 20  # beyond what peers keep of this epoch

            await cluster.start(3, SHORT_MEMORY)
            top = cluster.services[0].chain.height
            await wait_for(lambda: cluster.services[3].chain.height >= top, timeout=90, what="node 3 at the top")
            # The engine enters the ledger's epoch right after applying the blocks that changed the set.
            await wait_for(lambda: _engine(cluster, 3).epoch == _engine(cluster, 0).epoch, timeout=10, what="node 3 in the epoch")
            assert _engine(cluster, 3).me is not None
            assert _engine(cluster, 3).replica.refused["catch_up"] == 0
            assert _engine(cluster, 3).caught_up_blocks > 0

            # 5 validators, quorum 4: with node 0 down, nothing commits unless node 3 votes and certifies again.
            await cluster.stop(0)
            written += await _rounds(cluster, 1, 5, "rejoined")
            chains = [s.chain for s in cluster.services.values()]
            await wait_for(lambda: len({c.height for c in chains}) == 1, timeout=30, what="equal heights")
            for h in range(1, chains[0].height + 1):
                assert len({c.block_hash(h) for c in chains}) == 1, f"height {h} differs"
            assert all(c.locate(t) is not None for c in chains for t in written)

    asyncio.run(asyncio.wait_for(scenario(), 240))
