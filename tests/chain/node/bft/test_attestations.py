"""Four validators share signature checks: f+1 verify each batch, the rest take their attestations."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from chain.consensus.attestations import pack_verdicts
from chain.consensus.batches import Batch
from chain.ledger.operations import WriteKV
from chain.ledger.transaction import Endorsement, Transaction
from chain.node.batch_checks import decode_batch, verify_batches
from chain.node.bft_engine import BATCH
from tests.chain.node.bft.cluster import Cluster, running, wait_for


def _run(coro: Any, timeout: float = 120) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


def _engines(cluster: Cluster) -> list[Any]:
    return [s.engine for s in cluster.services.values()]


async def _all_committed(cluster: Cluster, txs: list[Transaction]) -> None:
    for t in txs:
        outcome = await cluster.services[0].wait(t.hash, 30)
        assert outcome["status"] == "committed", outcome
    top = cluster.services[0].chain.height
    await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), 30, "all heights")
    for h in range(1, top + 1):
        assert len({s.chain.block_hash(h) for s in cluster.services.values()}) == 1, f"height {h} differs"


def test_each_batch_is_verified_by_its_author_and_f_others_and_taken_on_attestation_elsewhere(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            await _all_committed(cluster, [])  # the setup block's checks are done everywhere before counting
            await wait_for(lambda: not any(e.checks.pending for e in _engines(cluster)), 30, "setup batch settled")
            before = [dict(e.checks.counts) for e in _engines(cluster)]
            txs = cluster.writes(400, "shared")
            for k in range(4):
                chunk = txs[k * 100:(k + 1) * 100]
                verdicts = await cluster.services[k].submit([t.encode() for t in chunk])
                assert all(v["accepted"] for v in verdicts)
            await _all_committed(cluster, txs)
            counts = [{k: e.checks.counts[k] - b.get(k, 0) for k in ("verified_txs", "attested_txs")}
                      for e, b in zip(_engines(cluster), before)]
            verified = sum(c["verified_txs"] for c in counts)
            attested = sum(c["attested_txs"] for c in counts)
            # Without sharing, every transaction would be checked again by all 3 non-authors (1,200 checks).
            # With it: once by the one designated attester, plus checks where execution outran the attestations.
            assert 3 * len(txs) <= verified + attested <= 3 * len(txs) + 3, counts  # + a late setup check
            assert verified <= 2 * len(txs), counts
            assert attested >= len(txs) // 2, counts
            assert all(e.checks.status()["attestations_sent"] > 0 for e in _engines(cluster))

    _run(scenario())


def test_a_lying_author_cannot_slip_a_forged_signature_into_a_block(tmp_path: Path) -> None:
    """Validator 3 pushes a batch holding a transaction whose signature does not verify and attests that it does.
    Its designated attester says otherwise, so nobody else has f+1 matching attestations: they check
    the batch themselves, and everyone rejects the forged transaction alike."""
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            liar = cluster.services[3].engine
            good = cluster.tx([WriteKV("acct", "honest", b"1", None)])
            other = cluster.tx([WriteKV("acct", "forged", b"2", None)])
            forged = Transaction(other.content, (Endorsement(other.endorsements[0].public_key, good.endorsements[0].signature),),
                                 other.hash)
            batch = Batch(liar.own_address, liar.builder.next_sequence + 1_000, (good.encode(), forged.encode()))
            digest = liar.batches.add(batch, pusher=liar.own_address)
            decoded = decode_batch(liar.suite, batch, 1 << 20)
            (candidates, packed), = verify_batches(cluster.verifier.verify, [decoded])
            assert packed == pack_verdicts([True, False])
            liar._candidates[digest] = candidates  # it executes truthfully, so it does not diverge itself
            before = {id(e): e.checks.counts["fallback_batches"] for e in _engines(cluster)}
            liar._broadcast(BATCH, batch.encoded)
            liar._attest(digest, pack_verdicts([True, True]))  # the lie
            liar._perform(liar.replica.batches_arrived(liar.now_ms()))
            await _all_committed(cluster, [good])
            for s in cluster.services.values():
                assert s.chain.locate(forged.hash) is None
            assert all(e.diverged is None for e in _engines(cluster))
            honest = [e for e in _engines(cluster) if e is not liar]
            designated = [e for e in honest if e._attesting(batch)]
            assert len(designated) == 1  # f = 1
            for e in honest:
                if e not in designated:  # no f+1 matching attestations: they had to check it themselves
                    assert e.checks.counts["fallback_batches"] > before[id(e)], e.checks.status()

    _run(scenario())
