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
