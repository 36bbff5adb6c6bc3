"""Drain: outbox -> contract invocations -> signed transactions -> committed, exactly once, through chain.sdk only.

One round (`run_once`):
  1. settle what is already submitted: transactions stored by an earlier process (or left by a failed round) are
     settled as in `recover`; the transactions this drainer has in flight are checked oldest first, without
     waiting (a round that has nothing new to submit waits up to `poll_ms` for the oldest one to commit);
     up to `max_in_flight` transactions are in flight at once (pipelining: the next batch is signed and
     submitted while earlier ones wait for their block). They are submitted in outbox order over one gateway,
     so each device's messages reach the chain in sequence order as long as nothing fails (a refused or
     expired transaction's rows go back to pending and land after later ones; the contract accepts that);
     with max_in_flight=1 nothing new is taken while a transaction is in flight (strict outbox order);
  2. take up to `batch_size` pending rows, map them (the mapper may refuse single events); a mapper with a
     `merge` method (iot_bridge.mapping.MergingMapper) then folds invocations into fewer contract calls (the
     device log mapper: a run of one device's consecutive sequence numbers becomes one `log` call);
  3. per organisation, build transactions of at most `max_ops_per_tx` InvokeContract operations, signed by that
     organisation's client; store each transaction's bytes with its rows (status submitted) BEFORE submitting;
  4. submit each organisation's transactions in one request without waiting; once a transaction commits, mark
     its rows committed (transaction hash and height). A new batch is taken only when `min_batch` rows are
     pending or nothing is in flight, so a busy drain builds few, large transactions.
A transaction whose operation i fails in the contract is in a block with all its writes rolled back: row i is
refused (chain_refused, with the chain's message, and `on_refused` is called) and the other rows go back to
pending for the next round. When the failing operation is a merged call, the drainer cannot tell which of its
events is at fault: all rows go back to pending and that call's events are retried one call each (no merging)
until they settle, so only the bad one is refused. Nothing is ever dropped: when the gateway cannot be reached (chain.sdk Unreachable,
HTTP 5xx) the rows stay as they are and the drain backs off exponentially: 0.5 s, 1 s, 2 s, ... capped at 30 s,
reset by the first round that works.

Exactly once: a transaction is identified by its hash. After a crash (or a lost answer) the stored bytes are
resubmitted unchanged; the ledger refuses a second copy of a committed transaction (DUPLICATE), and once the head
passes a transaction's expiry height it can no longer commit, so its rows safely go back to pending and into a
new transaction. The device log contract also refuses a (device, seq) logged before.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from chain.crypto import CryptoError, PublicKey
from chain.sdk import ApiError, Client, Unreachable, encode_args
from chain.sdk.operations import InvokeContract

from iot_bridge.devices import ACTIVE, DEVICE_ROLE, Device, DeviceRegistry
from iot_bridge.errors import CHAIN_REFUSED, MALFORMED, BridgeError, RegistryUnavailable
from iot_bridge.mapping import Invocation, MappedInput, MapperAPI, MergingMapper
from iot_bridge.message import decode_message
from iot_bridge.outbox import Key, Outbox, OutboxRow, SubmittedTx

log = logging.getLogger(__name__)

#: Execution failures that say nothing about the event itself: retry the whole transaction's rows later.
TRANSIENT_FAILURES = frozenset({"CONTRACT_ENGINE_UNAVAILABLE", "INTERNAL_ERROR", "VERSION_CONFLICT"})
#: Admission verdicts that mean "this very transaction may still commit": keep waiting for it.
STILL_ALIVE = frozenset({"SUCCESS", "DUPLICATE"})


@dataclass
class Backoff:
    """Exponential back-off: initial_s * factor**(failures-1), capped at cap_s; 0 while nothing fails."""

    initial_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    failures: int = 0

    def delay(self) -> float:
        """Seconds to wait before the next attempt."""
        if not self.failures:
            return 0.0
        return float(min(self.cap_s, self.initial_s * self.factor ** min(self.failures - 1, 32)))

    def fail(self) -> None:
        self.failures += 1

    def reset(self) -> None:
        self.failures = 0


class _Encoded:
    """Stored transaction bytes where the SDK expects a transaction (Client.submit only calls encode())."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def encode(self) -> bytes:
        return self.raw


@dataclass
class _Flight:
    """A transaction of this drainer submitted and accepted by the gateway, not yet seen committed."""

    organisation: str
    rows: list[OutboxRow]
    since: float  # time.monotonic() of the submit


class Drainer:
    """Drains one outbox to the chain (one drain thread per outbox)."""

    def __init__(self, outbox: Outbox, mapper: MapperAPI, clients: Callable[[str], Client], batch_size: int = 500,
                 max_ops_per_tx: int = 256, on_refused: Callable[[OutboxRow, str], None] | None = None, *,
                 devices: DeviceRegistry | None = None, wait_ms: int = 30_000, ttl_blocks: int = 100,
                 backoff: Backoff | None = None, idle_s: float = 0.2, max_in_flight: int = 4,
                 min_batch: int | None = None, poll_ms: int = 500, messages: Any = None) -> None:
        if batch_size < 1 or max_ops_per_tx < 1 or max_in_flight < 1:
            raise ValueError("batch_size, max_ops_per_tx and max_in_flight must be positive")
        self.outbox = outbox
        self.mapper = mapper
        self._make_client = clients
        self._clients: dict[str, Client] = {}
        self.batch_size = batch_size
        self.max_ops_per_tx = max_ops_per_tx
        self.on_refused = on_refused
        self.devices = devices
        self.wait_ms = wait_ms
        self.ttl_blocks = ttl_blocks
        self.backoff = backoff or Backoff()
        self.idle_s = idle_s
        self.max_in_flight = max_in_flight
        self.min_batch = max(1, min(batch_size, batch_size // 4 if min_batch is None else min_batch))
        self.poll_ms = poll_ms
        #: Where decoded messages may be taken by digest instead of decoding the row again (Intake.recent).
        self.messages = messages
        #: This drainer's accepted transactions awaiting their commit, in submit order (tx hash -> flight).
        self._inflight: dict[bytes, _Flight] = {}
        #: False until every transaction stored as submitted (by an earlier process, or left behind by a failed
        #: round) has been settled the blocking way (`_settle_submitted`).
        self._settled_stored = False
        self.last_error = ""
        self._trouble = False
        self.stats: dict[str, int] = {"committed": 0, "refused": 0, "transactions": 0, "resubmitted": 0,
                                      "released": 0, "errors": 0, "calls": 0, "split": 0}
        #: Which rows each operation of a transaction built in this process stands for (tx hash -> per operation).
        self._ops: dict[bytes, list[list[Key]]] = {}
        #: Rows of a refused merged call: sent one call each until they settle.
        self._solo: set[Key] = set()

    # -- loop -------------------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Recover, then drain until `stop` is set (idle wait when there is nothing to do, back-off on failures)."""
        self.recover()
        while not stop.is_set():
            settled = self.run_once()
            if self.backoff.failures:
                stop.wait(self.backoff.delay())
            elif settled == 0 and not self.outbox.pending(1):
                stop.wait(self.idle_s)

    def recover(self) -> None:
        """Settle every transaction stored as submitted: committed -> rows committed; still possible -> the SAME
        bytes resubmitted and awaited; expired uncommitted -> rows back to pending. Errors reaching the chain are
        logged and leave the rows as they are."""
        self._guarded(self._settle_all_stored)

    @property
    def in_flight(self) -> int:
        """Transactions of this drainer submitted and not yet seen committed."""
        return len(self._inflight)

    def _settle_all_stored(self) -> int:
        self._inflight.clear()  # they are stored as submitted too: settled below, the blocking way
        settled = self._settle_submitted()
        self._settled_stored = not self.outbox.submitted()  # else: still in flight, or to resubmit next round
        return settled

    def run_once(self) -> int:
        """One round (see the module docstring); the number of rows settled (committed or refused)."""
        return self._guarded(self._round)

    def _guarded(self, work: Callable[[], int]) -> int:
        self._trouble = False
        try:
            settled = work()
        except (Unreachable, RegistryUnavailable, OSError) as exc:
            self._settled_stored = False  # what is in flight is stored: the next round settles it from the outbox
            return self._failed(exc)
        except ApiError as exc:
            self._settled_stored = False
            if exc.status < 500 and exc.status not in (408, 429):
                log.error("drain: the gateway refused a request: %s", exc)
            return self._failed(exc)
        if not self._trouble:
            self.backoff.reset()
            self.last_error = ""
        return settled

    def _soft_fail(self, why: str) -> None:
        """A round that worked but met a refusal worth waiting out (busy mempool, a transaction refused whole)."""
        if not self._trouble:
            self.backoff.fail()
        self._trouble = True
        self.last_error = why

    def _failed(self, exc: Exception) -> int:
        self.backoff.fail()
        self.stats["errors"] += 1
        self.last_error = str(exc)
        log.warning("drain: %s; retrying in %.1f s", exc, self.backoff.delay())
        return 0

    def _round(self) -> int:
        settled = 0
        if not self._settled_stored:
            settled += self._settle_all_stored()
            if not self._settled_stored:
                return settled  # still in flight or to resubmit: a later round settles it first
        settled += self._poll_inflight(0)
        if len(self._inflight) < self.max_in_flight:
            rows = self.outbox.pending(self.batch_size)
            if rows and (not self._inflight or len(rows) >= self.min_batch):
                return settled + self._drain(rows)
        if self._inflight:
            settled += self._poll_inflight(self.poll_ms)  # wait for the oldest block while the next batch fills
        return settled

    def _poll_inflight(self, wait_ms: int) -> int:
        """Settle this drainer's in-flight transactions oldest first, up to the first one not committed (waiting up
        to wait_ms for the oldest). One that is still not committed `wait_ms` (the drainer's) after its submit is
        handed to the stored-transaction path (expired -> rows back to pending; else the same bytes resubmitted)."""
        settled = 0
        while self._inflight:
            tx_hash, flight = next(iter(self._inflight.items()))
            client = self._client(flight.organisation)
            outcome = client.wait(tx_hash, wait_ms)
            wait_ms = 0
            if outcome.get("status") == "committed":
                del self._inflight[tx_hash]
                settled += self._apply(tx_hash, flight.rows, outcome["receipt"])
                continue
            if time.monotonic() - flight.since > self.wait_ms / 1000:
                # Not committed in wait_ms: settle every stored transaction the blocking way (expired -> rows back
                # to pending; else the same bytes resubmitted), from the outbox, from the next round on.
                self._settled_stored = False
            break
        return settled

    # -- new work ---------------------------------------------------------------------------------------------------

    def _drain(self, rows: list[OutboxRow]) -> int:
        settled = 0
        inputs: list[tuple[OutboxRow, MappedInput]] = []
        known: dict[str, Device | None] = {}  # one registry look-up per device and round
        for row in rows:
            try:
                inputs.append((row, self._input(row, known)))
            except BridgeError as exc:
                settled += self._refuse(row, f"{exc.code}: {exc.message}")
        mapped = self.mapper.map_batch([i for _, i in inputs]) if inputs else []
        if len(mapped) != len(inputs):
            raise RuntimeError(f"the mapper returned {len(mapped)} results for {len(inputs)} events")
        by_org: dict[str, list[tuple[OutboxRow, Invocation]]] = defaultdict(list)
        for (row, _), result in zip(inputs, mapped):
            if isinstance(result, BridgeError):
                settled += self._refuse(row, f"{result.code}: {result.message}")
            else:
                by_org[row.organisation].append((row, result))
        for org, items in by_org.items():
            client = self._client(org)
            calls = self._merge(items)
            txs: list[tuple[Any, list[OutboxRow]]] = []
            for start in range(0, len(calls), self.max_ops_per_tx):
                chunk = calls[start:start + self.max_ops_per_tx]
                tx = client.build([InvokeContract(inv.contract, inv.function, encode_args(list(inv.args)))
                                   for inv, _ in chunk], ttl=self.ttl_blocks)
                chunk_rows = [row for _, op_rows in chunk for row in op_rows]
                self.outbox.mark_submitted([r.key for r in chunk_rows], tx.hash, tx.encode(), org)
                self._ops[tx.hash] = [[r.key for r in op_rows] for _, op_rows in chunk]
                txs.append((tx, chunk_rows))
            self.stats["transactions"] += len(txs)
            self.stats["calls"] += len(calls)
            submitted_at = time.monotonic()
            results = client.submit([tx for tx, _ in txs])
            for (tx, chunk_rows), result in zip(txs, results):
                code = result.get("code_name", "SUCCESS" if result.get("accepted") else "")
                if code in STILL_ALIVE and result.get("outcome") is None:
                    self._inflight[tx.hash] = _Flight(org, chunk_rows, submitted_at)
                else:
                    settled += self._after_submit(client, tx.hash, chunk_rows, result)
                    if code in STILL_ALIVE or code == "MEMPOOL_FULL":
                        self._settled_stored = False  # stored as submitted, not tracked: resubmitted from the outbox
        return settled

    def _merge(self, items: list[tuple[OutboxRow, Invocation]]) -> list[tuple[Invocation, list[OutboxRow]]]:
        """The contract calls for these rows: merged by the mapper if it can merge, except rows under suspicion
        (from a refused merged call), which go one call each; each call with the rows it stands for."""
        if not isinstance(self.mapper, MergingMapper):
            return [(inv, [row]) for row, inv in items]
        free = [(row, inv) for row, inv in items if row.key not in self._solo]
        merged = self.mapper.merge([inv for _, inv in free])
        covered = sorted(i for _, indices in merged for i in indices)
        if covered != list(range(len(free))):
            raise RuntimeError(f"the mapper's merge covered {covered[:8]}... of {len(free)} invocations")
        calls = [(inv, [free[i][0] for i in indices]) for inv, indices in merged]
        calls.extend((inv, [row]) for row, inv in items if row.key in self._solo)
        return calls

    def _input(self, row: OutboxRow, known: dict[str, Device | None]) -> MappedInput:
        message = self.messages.take(row.digest) if self.messages is not None else None
        if message is None or message.device != row.device or message.seq != row.seq:
            message = decode_message(row.raw, max_bytes=max(len(row.raw), 1)).message
        if row.device not in known:
            known[row.device] = self.devices.get(row.device) if self.devices is not None else None
        device = known[row.device]
        if device is None:
            try:
                key = PublicKey.decode(row.public_key)
            except CryptoError:
                raise BridgeError(MALFORMED, "the outbox row has no device key", "public_key") from None
            device = Device(row.device, row.organisation, ACTIVE, key, (DEVICE_ROLE,))
        return MappedInput(device, message, row.digest, row.raw)

    def _client(self, org: str) -> Client:
        client = self._clients.get(org)
        if client is None:
            client = self._clients[org] = self._make_client(org)
        return client

    # -- settling ---------------------------------------------------------------------------------------------------

    def _settle_submitted(self) -> int:
        settled = 0
        for stored in self.outbox.submitted():
            if not stored.rows:
                self.outbox.settle(stored.tx_hash, [], 0)
                continue
            settled += self._settle_stored(stored)
        return settled

    def _settle_stored(self, stored: SubmittedTx) -> int:
        client = self._client(stored.organisation)
        rows = list(stored.rows)
        outcome = client.wait(stored.tx_hash, 0)
        if outcome.get("status") == "committed":
            return self._apply(stored.tx_hash, rows, outcome["receipt"])
        if self._expired(client, stored):
            return 0
        log.info("drain: resubmitting transaction %s (%d events)", stored.tx_hash.hex()[:16], len(rows))
        self.stats["resubmitted"] += 1
        result = client.submit([_Encoded(stored.raw)], wait_ms=self.wait_ms)[0]
        return self._after_submit(client, stored.tx_hash, rows, result, stored)

    def _expired(self, client: Client, stored: SubmittedTx) -> bool:
        """True (rows released) if the transaction can no longer commit: the head reached its expiry height and
        it is not committed (asked after reading the head, so a commit up to the expiry height would show)."""
        head = int(client.status()["height"])
        if head < stored.expiry_height:
            return False
        outcome = client.wait(stored.tx_hash, 0)
        if outcome.get("status") == "committed":
            self._apply(stored.tx_hash, list(stored.rows), outcome["receipt"])
            return True
        self._release(stored.tx_hash, list(stored.rows), f"transaction expired at height {stored.expiry_height}")
        return True

    def _after_submit(self, client: Client, tx_hash: bytes, rows: list[OutboxRow], result: dict[str, Any],
                      stored: SubmittedTx | None = None) -> int:
        code = result.get("code_name", "SUCCESS" if result.get("accepted") else "")
        outcome = result.get("outcome")
        if outcome is None and code in STILL_ALIVE:
            outcome = client.wait(tx_hash, self.wait_ms)
        if outcome is not None and outcome.get("status") == "committed":
            return self._apply(tx_hash, rows, outcome["receipt"])
        if code in STILL_ALIVE or code == "MEMPOOL_FULL":
            if code == "MEMPOOL_FULL":
                self._soft_fail(str(result.get("message", "the mempool is full")))
            return 0  # still in flight (or to resubmit as is): settled by a later round
        if code == "EXPIRED" and stored is not None:
            self._expired(client, stored)
            return 0
        if code == "TOO_LARGE" and self.max_ops_per_tx > 1:
            self.max_ops_per_tx = max(1, self.max_ops_per_tx // 2)
        log.error("drain: the ledger refused transaction %s: %s %s", tx_hash.hex()[:16], code, result.get("message"))
        self._release(tx_hash, rows, f"{code}: {result.get('message', '')}")
        self._soft_fail(f"{code}: {result.get('message', '')}")
        return 0

    def _apply(self, tx_hash: bytes, rows: list[OutboxRow], receipt: dict[str, Any]) -> int:
        height = int(receipt.get("height", 0))
        ops = self._ops.pop(tx_hash, None)
        if receipt.get("code_name") == "SUCCESS":
            self.outbox.mark_committed([r.key for r in rows], tx_hash, height)
            self.stats["committed"] += len(rows)
            self._solo.difference_update(r.key for r in rows)
            return len(rows)
        failed = receipt.get("failed_operation")
        message = str(receipt.get("message", ""))
        if ops is None and failed is not None and len(rows) > 1:
            # Stored before a restart: which rows operation `failed` stands for is not known here (it may be a
            # merged call). Retry all of them one by one.
            ops = [[r.key for r in rows]]
            failed = 0
        if (failed is not None and ops is not None and 0 <= failed < len(ops) and len(ops[failed]) > 1
                and receipt.get("code_name") not in TRANSIENT_FAILURES):
            suspects = ops[failed]
            log.info("drain: a merged call of %d events failed (%s); retrying them one by one", len(suspects),
                     message)
            self._solo.update(suspects)
            self.stats["split"] += 1
            self._release(tx_hash, rows, f"merged call refused: {message}")
            return 0
        if ops is not None and failed is not None and 0 <= failed < len(ops):
            by_key = {r.key: r for r in rows}
            failed = rows.index(by_key[ops[failed][0]]) if ops[failed][0] in by_key else -1
        if failed is None or not 0 <= failed < len(rows) or receipt.get("code_name") in TRANSIENT_FAILURES:
            log.error("drain: transaction %s failed (%s: %s); its events go back to pending", tx_hash.hex()[:16],
                      receipt.get("code_name"), message)
            self._release(tx_hash, rows, f"{receipt.get('code_name')}: {message}")
            self._soft_fail(f"{receipt.get('code_name')}: {message}")
            return 0
        culprit = rows[failed]
        reason = f"{CHAIN_REFUSED}: {message}"
        others: list[Key] = [r.key for i, r in enumerate(rows) if i != failed]
        self.outbox.settle(tx_hash, [], height, refused=[(culprit.key, reason)], released=others)
        self._solo.discard(culprit.key)
        self.stats["refused"] += 1
        self.stats["released"] += len(others)
        self._notify(culprit, reason)
        return 1

    def _release(self, tx_hash: bytes, rows: Sequence[OutboxRow], why: str) -> None:
        self._ops.pop(tx_hash, None)
        self.outbox.settle(tx_hash, [], 0, released=[r.key for r in rows])
        self.stats["released"] += len(rows)
        log.info("drain: %d events back to pending (%s)", len(rows), why)

    def _refuse(self, row: OutboxRow, reason: str) -> int:
        self.outbox.mark_refused([row.key], reason)
        self.stats["refused"] += 1
        self._notify(row, reason)
        return 1

    def _notify(self, row: OutboxRow, reason: str) -> None:
        log.warning("drain: event %s/%d refused: %s", row.device, row.seq, reason)
        if self.on_refused is not None:
            try:
                self.on_refused(row, reason)
            except Exception:  # a reporting hook must not stop the drain
                log.exception("drain: on_refused failed")
