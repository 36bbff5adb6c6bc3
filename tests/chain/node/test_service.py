"""LedgerService: accepted transactions survive a failed block and a restart (journal)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chain.crypto import BatchVerifier
from chain.crypto.keystore import load_key
from chain.ledger.operations import RegisterDataAccount
from chain.ledger.transaction import Transaction, TxContent
from chain.node.service import JOURNAL, LedgerService
from chain.storage import open_store
from tests.chain.node.conftest import PASSWORD


def _service(node_dir: tuple[Path, int], verifier: BatchVerifier, executor: ThreadPoolExecutor):  # type: ignore[no-untyped-def]
    config, _ = node_dir
    base = config.parent
    kv = open_store(str(base / "ledgers" / "main"), create_if_missing=False)
    node_key = load_key(base / "keys" / "node.key", PASSWORD.encode())
    return LedgerService("main", kv, node_key, verifier, executor), load_key(base / "keys" / "admin.key", PASSWORD.encode())


def _tx(svc: LedgerService, admin, name: str) -> Transaction:  # type: ignore[no-untyped-def]
    content = TxContent(svc.chain.ledger_id, name.encode(), svc.chain.height + 50, (RegisterDataAccount(name, ()),))
    return Transaction.create(svc.chain.suite, content, [admin])


def test_failed_production_requeues_and_restart_recovers_the_journal(node_dir, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with BatchVerifier(workers=0) as verifier, ThreadPoolExecutor(2) as executor:
        svc, admin = _service(node_dir, verifier, executor)
        txs = [_tx(svc, admin, f"acct{i}") for i in range(3)]
        verdicts = asyncio.run(svc.submit([t.encode() for t in txs]))
        assert all(v["accepted"] for v in verdicts)
        assert len(list(svc.kv.iterate(JOURNAL))) == 3

        def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

        monkeypatch.setattr(svc.chain, "commit", broken)
        with pytest.raises(OSError):
            svc._produce_sync()
        assert len(svc.mempool) == 3  # nothing lost in memory
        svc.kv.close()  # "crash": the mempool is gone, the journal stays

        restarted, _ = _service(node_dir, verifier, executor)
        assert restarted.recovered == 3 and len(restarted.mempool) == 3
        height, settled = restarted._produce_sync()
        assert height == 1 and len(settled) == 3
        assert all(restarted.chain.locate(t.hash) for t in txs)
        assert list(restarted.kv.iterate(JOURNAL)) == []
        restarted.kv.close()


def test_a_full_mempool_tells_the_client_why_and_when_to_retry() -> None:
    from chain.node.mempool import Admission, Refusal
    from chain.node.service import LedgerService
    from chain.ledger.errors import ResultCode

    view = LedgerService._verdict_view(Admission(b"h", False, ResultCode.MEMPOOL_FULL, "busy: full", Refusal.BUSY, 250))
    assert view["refusal"] == "busy" and view["retry_after_ms"] == 250 and view["code_name"] == "MEMPOOL_FULL"
    assert "refusal" not in LedgerService._verdict_view(Admission(b"h", True, ResultCode.SUCCESS))


def test_outcomes_name_each_committed_transaction_and_its_code_clipped_to_the_head(node_dir) -> None:  # type: ignore[no-untyped-def]
    with BatchVerifier(workers=0) as verifier, ThreadPoolExecutor(2) as executor:
        svc, admin = _service(node_dir, verifier, executor)
        txs = [_tx(svc, admin, "dup"), _tx(svc, admin, "fresh")]
        dup_again = Transaction.create(svc.chain.suite, TxContent(svc.chain.ledger_id, b"again", svc.chain.height + 50,
                                                                  (RegisterDataAccount("dup", ()),)), [admin])
        assert all(v["accepted"] for v in asyncio.run(svc.submit([t.encode() for t in [*txs, dup_again]])))
        height, _ = svc._produce_sync()
        outcomes = svc.outcomes(height, height + 10)
        assert [h for h, _ in outcomes] == [height]  # clipped to the head
        codes = {tx_hash: code for tx_hash, code in outcomes[0][1]}
        assert codes[txs[0].hash] == 0 and codes[txs[1].hash] == 0
        assert codes[dup_again.hash] != 0  # the second registration of "dup" failed, and says so
        assert codes == {r.tx_hash: r.code for r in svc.chain.receipts(height)}
        svc.kv.close()


def test_a_block_drops_the_journal_entries_it_settles_in_its_own_synced_write(node_dir) -> None:  # type: ignore[no-untyped-def]
    with BatchVerifier(workers=0) as verifier, ThreadPoolExecutor(2) as executor:
        svc, admin = _service(node_dir, verifier, executor)
        txs = [_tx(svc, admin, f"acct{i}") for i in range(3)]
        assert all(v["accepted"] for v in asyncio.run(svc.submit([t.encode() for t in txs])))
        writes: list[tuple[set[bytes], set[bytes], bool]] = []
        apply = svc.kv.apply

        def recording(puts, deletes=(), *, sync=True):  # type: ignore[no-untyped-def]
            deletes = list(deletes)
            writes.append((set(dict(puts)), set(deletes), sync))
            return apply(puts, deletes, sync=sync)

        svc.kv.apply = recording
        height, settled = svc._produce_sync()
        assert len(writes) == 1  # no second write after the block: a crash between the two cannot replay anything
        puts, deletes, sync = writes[0]
        assert sync and deletes == {JOURNAL + t.hash for t in txs} and len(settled) == 3
        assert any(key.endswith(height.to_bytes(8, "big")) for key in puts)  # the block's own records
        assert list(svc.kv.iterate(JOURNAL)) == []
        svc.kv.close()


def test_a_stuck_admission_does_not_hold_up_the_ledger_threads(node_dir) -> None:  # type: ignore[no-untyped-def]
    import threading

    config, _ = node_dir
    base = config.parent
    with BatchVerifier(workers=0) as verifier, ThreadPoolExecutor(1) as executor, ThreadPoolExecutor(1) as clients:
        kv = open_store(str(base / "ledgers" / "main"), create_if_missing=False)
        svc = LedgerService("main", kv, load_key(base / "keys" / "node.key", PASSWORD.encode()), verifier, executor,
                            client_executor=clients)
        admin = load_key(base / "keys" / "admin.key", PASSWORD.encode())
        release = threading.Event()
        admit = svc._admit_and_journal

        def stuck(*args):  # type: ignore[no-untyped-def]
            release.wait(10)  # a client's synced journal write on a slow disk
            return admit(*args)

        svc._admit_and_journal = stuck  # type: ignore[method-assign]

        async def scenario() -> list[dict[str, object]]:
            submitting = asyncio.ensure_future(svc.submit([_tx(svc, admin, "slow").encode()]))
            await asyncio.sleep(0.05)
            ledger_work = asyncio.get_running_loop().run_in_executor(executor, lambda: svc.chain.height)
            assert await asyncio.wait_for(ledger_work, 2) == 0  # the ledger's only thread was free
            assert not submitting.done()
            release.set()
            return await submitting

        assert asyncio.run(scenario())[0]["accepted"]
        kv.close()
