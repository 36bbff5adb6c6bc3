"""Validators join and leave a running BFT ledger under load: 4 -> 5 -> 7 -> 4, nothing lost, one history."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from chain.ledger.block import Validator, ValidatorSet
from chain.ledger.model import EntityState
from chain.ledger.operations import ApproveNodeChange, RegisterNode, SetNodeState
from tests.chain.node.bft.cluster import Cluster, running, wait_for


def _run(coro: Any, timeout: float = 240) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


async def _commit(cluster: Cluster, ops: list[Any], signer: int) -> None:
    tx = cluster.tx(ops, signer)
    verdicts = await cluster.services[0].submit([tx.encode()])
    assert verdicts[0]["accepted"], verdicts
    outcome = await cluster.services[0].wait(tx.hash, 60)
    assert outcome["status"] == "committed" and outcome["receipt"]["code_name"] == "SUCCESS", outcome


def _committee(cluster: Cluster, i: int) -> set[str]:
    return set(cluster.services[i].engine.node_ids)  # type: ignore[attr-defined]


def _validator_set(cluster: Cluster, members: set[int]) -> ValidatorSet:
    chosen = sorted((cluster.nodes[i].address, cluster.nodes[i].key.public_key().encode()) for i in members)
    return ValidatorSet(tuple(Validator(address, key) for address, key in chosen))


async def _settled(cluster: Cluster, members: set[int]) -> None:
    """Wait until every node runs the epoch whose committee is exactly `members`."""
    wanted = {cluster.node_id(i) for i in members}
    await wait_for(lambda: all(_committee(cluster, i) == wanted for i in cluster.services), timeout=90,
                   what=f"committee {sorted(members)} everywhere")
    for i, service in cluster.services.items():
        assert service.engine.me is not None if i in members else service.engine.me is None  # type: ignore[attr-defined]


async def _add(cluster: Cluster, k: int) -> None:
    """Node k's organisation registers it (one approval); the other organisation approves (quorum 2 of 2)."""
    node = cluster.nodes[k]
    own = list(cluster.net.orgs).index(node.organisation)
    await _commit(cluster, [RegisterNode(node.certificate.der, node.key.public_key().encode())], own)
    await _commit(cluster, [ApproveNodeChange(node.address)], 1 - own)


async def _remove(cluster: Cluster, k: int) -> None:
    await _commit(cluster, [SetNodeState(cluster.nodes[k].address, EntityState.FROZEN)], 0)
    await _commit(cluster, [ApproveNodeChange(cluster.nodes[k].address)], 1)


def test_four_five_seven_four_validators_under_load(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, n=4, spares=3) as cluster:
            accepted: list[bytes] = []
            stop = asyncio.Event()

            async def load() -> None:
                round_no = 0
                while not stop.is_set():
                    txs = cluster.writes(10, f"load{round_no}")
                    verdicts = await cluster.services[0].submit([t.encode() for t in txs])
                    accepted.extend(t.hash for t, v in zip(txs, verdicts) if v["accepted"])
                    round_no += 1
                    await asyncio.sleep(0.1)

            loader = asyncio.create_task(load())
            await _add(cluster, 4)
            await _settled(cluster, {0, 1, 2, 3, 4})
            await _add(cluster, 5)
            await _add(cluster, 6)
            await _settled(cluster, {0, 1, 2, 3, 4, 5, 6})
            for k in (1, 2, 5):
                await _remove(cluster, k)
            await _settled(cluster, {0, 3, 4, 6})
            await asyncio.sleep(1.0)
            stop.set()
            await loader
            assert len(accepted) > 200
            for tx_hash in accepted:
                outcome = await cluster.services[0].wait(tx_hash, 60)
                assert outcome["status"] == "committed", outcome
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), timeout=60,
                           what="every node (observers too) at the top")
            chains = [s.chain for s in cluster.services.values()]
            stages = [{0, 1, 2, 3}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5, 6},
                      {0, 2, 3, 4, 5, 6}, {0, 3, 4, 5, 6}, {0, 3, 4, 6}]
            sets = [_validator_set(cluster, members) for members in stages]
            by_hash = {v.hash(chains[0].suite): v for v in sets}
            order: list[bytes] = []
            for h in range(1, top + 1):
                hashes = {c.block_hash(h) for c in chains}
                assert len(hashes) == 1, f"height {h} differs"
                header = chains[0].header(h)
                validators = by_hash[header.validators_hash]
                if not order or order[-1] != header.validators_hash:
                    order.append(header.validators_hash)
                assert chains[0].certificate(h).problems(validators, header.hash(chains[0].suite), h) is None
            assert order == [v.hash(chains[0].suite) for v in sets], "each block certified by the set in force, in order"
            for tx_hash in accepted:
                assert all(c.locate(tx_hash) is not None for c in chains)

    _run(scenario())
