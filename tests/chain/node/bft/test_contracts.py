"""Contracts on four validators over real TLS: the same invocations give the same receipts and state roots everywhere."""
from __future__ import annotations

import asyncio
from pathlib import Path

from chain.contracts import compile_source, decode_value, encode_args
from chain.crypto import Address
from chain.ledger.model import ContractPolicy
from chain.ledger.operations import DeployContract, InvokeContract
from tests.chain.node.bft.cluster import running, wait_for

TOKEN = (Path(__file__).resolve().parents[4] / "chain" / "contracts" / "examples" / "token.py").read_text()


def test_token_transfers_give_identical_state_roots_on_four_validators(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as cluster:
            ir = compile_source(TOKEN, "token.py").encode()
            both = ContractPolicy(2, ("org1", "org2"))
            setup = [cluster.tx([DeployContract("token", ir, both)], 0, 1),
                     cluster.tx([InvokeContract("token", "init", encode_args(["Gold", "GLD", 10**30]))], 0)]
            for tx in setup:
                assert (await cluster.services[0].submit([tx.encode()]))[0]["accepted"]
                outcome = await cluster.services[0].wait(tx.hash, 30)
                assert outcome["status"] == "committed" and outcome["receipt"]["code"] == 0, outcome
            owner = str(Address.decode(cluster.net.admins[0].address))
            txs = []
            for i in range(120):
                amount = 10**25 + i if i % 10 else 10**31  # every tenth transfer exceeds the balance and fails
                sender = 0 if i % 3 else 1  # admin 1 holds nothing: its transfers fail too
                txs.append(cluster.tx([InvokeContract("token", "transfer", encode_args([f"acct-{i % 17}", amount]))], sender))
            for k in range(4):
                part = txs[k * 30:(k + 1) * 30]
                verdicts = await cluster.services[k].submit([t.encode() for t in part])
                assert all(v["accepted"] for v in verdicts), verdicts[:2]
            receipts = []
            for t in txs:
                outcome = await cluster.services[0].wait(t.hash, 30)
                assert outcome["status"] == "committed", f"{outcome}\n{cluster.diagnosis()}"
                receipts.append(outcome["receipt"])
            assert {r["code"] for r in receipts} == {0, 8}
            top = cluster.services[0].chain.height
            await wait_for(lambda: all(s.chain.height >= top for s in cluster.services.values()), what="all heights")
            for h in range(1, top + 1):
                assert len({s.chain.header(h).state_root for s in cluster.services.values()}) == 1, f"state root {h}"
                assert len({tuple(r.encode() for r in s.chain.receipts(h)) for s in cluster.services.values()}) == 1
            moved = sum(decode_value(r["result"])[0][0] is True for r in receipts if r["code"] == 0)
            assert moved == sum(1 for i in range(120) if i % 10 and i % 3)
            balance = InvokeContract("token", "balance_of", encode_args([owner]))
            reports = [s.simulate(cluster.tx([balance], 0).encode(), False, None, None)[0] for s in cluster.services.values()]
            assert len({r["value"] for r in reports}) == 1

    asyncio.run(asyncio.wait_for(scenario(), 120))
