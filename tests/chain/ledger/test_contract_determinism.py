"""Generated contracts and inputs: every executing replica reaches the same state roots and receipts.

In process, four independent stores execute the same transactions; across
processes, the recorded chain is replayed under other hash seeds (dict and
str hashing differ), where any order that leaked into state would show.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings

from chain.codec import encode
from chain.contracts import compile_source, encode_args
from chain.ledger.chain_store import ChainStore
from chain.ledger.operations import DeployContract, InvokeContract
from chain.storage.memory import MemoryKV
from tests.chain.ledger.conftest import LedgerHarness
from tests.chain.ledger.contract_code import COUNTER, ORG1_ONLY
from tests.strategies import contract_inputs, contract_sources

REPLICAS = 4
ROOT = Path(__file__).resolve().parents[3]


def _replicas(devnets) -> list[LedgerHarness]:  # type: ignore[no-untyped-def]
    net = devnets["classic"]
    return [LedgerHarness(net, ChainStore.create(MemoryKV(), net.genesis, [v.key for v in net.validators]))
            for _ in range(REPLICAS)]


def _run_everywhere(replicas: list[LedgerHarness], source: str, calls: list[tuple[int, int, str]]) -> None:
    first = replicas[0]
    ir = compile_source(source).encode()
    blocks = [[first.tx([DeployContract("gen", ir, ORG1_ONLY)])]]
    invocations = [first.tx([InvokeContract("gen", "run", encode_args(list(args)))]) for args in calls]
    blocks += [invocations[i:i + 3] for i in range(0, len(invocations), 3)]
    for txs in blocks:
        proposals = [r.block(*txs) for r in replicas]
        roots = {p.header.state_root for p in proposals}
        assert len(roots) == 1, f"replicas disagree at height {proposals[0].header.height}"
        assert len({tuple(r.encode() for r in p.receipts) for p in proposals}) == 1


@settings(max_examples=40, deadline=None)
@given(source=contract_sources(), calls=contract_inputs())
def test_generated_contracts_give_identical_roots_on_four_replicas(devnets, source: str, calls) -> None:  # type: ignore[no-untyped-def]
    _run_everywhere(_replicas(devnets), source, calls)


def test_a_recorded_contract_chain_replays_identically_under_other_hash_seeds(devnets, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import Phase, find

    replicas = _replicas(devnets)[:1]
    harness = replicas[0]
    sources = [find(contract_sources(10), lambda s, n=n: len(s) > 250 + 40 * n, settings=settings(phases=[Phase.generate],
                    database=None, derandomize=True)) for n in range(6)]
    for n, source in enumerate(sources):
        calls = [(3**(40 + n) - i, i - 50, "xyz"[: i % 4]) for i in range(7)]
        ir = compile_source(source).encode()
        harness.block(harness.tx([DeployContract(f"gen{n}", ir, ORG1_ONLY)]))
        harness.block(*[harness.tx([InvokeContract(f"gen{n}", "run", encode_args(list(a)))]) for a in calls])
    harness.block(harness.tx([DeployContract("counter", COUNTER, ORG1_ONLY)]))
    harness.block(*[harness.tx([InvokeContract("counter", "bump", encode_args([60]))]) for _ in range(2)])  # one fails
    chain = harness.chain
    blocks = [[chain.header(h).encode(), chain.encoded_transactions(h), chain.certificate(h).encode()]
              for h in range(chain.height + 1)]
    recording = tmp_path / "chain.cbor"
    recording.write_bytes(encode(["classic", blocks]))
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "tests.chain.ledger.replay_worker", str(recording)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert chain.header(chain.height).state_root.hex() in done.stdout
    failed = [r for h in range(1, chain.height + 1) for r in chain.receipts(h) if not r.success]
    assert failed and len(failed) < sum(len(chain.receipts(h)) for h in range(1, chain.height + 1))  # both kinds replayed
