"""`chain ledger verify`: recompute everything from genesis and name the first inconsistency.

Every block is replayed into a scratch replica (re-checking every signature,
commit certificate, transaction root, receipt and state root); then the stored
database is compared key by key with the replica, so an altered byte anywhere
(block, transaction, receipt, state value, history, tree node, index) is found
and reported with its location.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from chain.codec import CodecError, decode
from chain.codec.schema import from_cbor
from chain.ledger import chain_store as cs
from chain.ledger.block import BlockHeader, CommitCertificate
from chain.ledger.errors import LedgerError
from chain.ledger.namespaces import Namespace
from chain.ledger.state_store import LATEST, TREE, VERSIONS

log = logging.getLogger(__name__)

Verifier = Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]]

# Prefixes in a ledger's store that are not ledger data: the node's journal of
# accepted transactions awaiting a block ('P') and its BFT consensus records
# ('O': safety state, executed consensus tip). They are skipped by the comparison.
NOT_LEDGER_DATA = (b"P", b"O")


@dataclass(frozen=True)
class AuditReport:
    """Outcome of an audit: ok, or the first inconsistency and where it is."""

    height: int
    blocks_checked: int
    transactions_checked: int
    keys_compared: int
    location: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True if nothing was inconsistent."""
        return self.problem is None


class _Found(Exception):
    def __init__(self, location: str, problem: str) -> None:
        super().__init__(problem)
        self.location = location
        self.problem = problem


def describe_state_key(key: bytes) -> str:
    """A human-readable name of a state key: namespace and any text parts."""
    try:
        name = Namespace(key[0]).name.lower()
    except (ValueError, IndexError):
        return f"unknown state key {key.hex()}"
    parts, rest = [], key[1:]
    while len(rest) >= 2:
        n = int.from_bytes(rest[:2], "big")
        chunk = rest[2 : 2 + n]
        if len(chunk) != n:
            break
        try:
            parts.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            break
        rest = rest[2 + n :]
    if rest:
        parts.append(rest.hex())
    return f"{name}:" + "/".join(parts) if parts else name


def describe_record(key: bytes) -> str:
    """Where a stored record lives, in words."""
    tag, body = key[:1], key[1:]
    if tag in (cs.HEADER, cs.BODY, cs.RECEIPTS, cs.CERTIFICATE) and len(body) == 8:
        what = {cs.HEADER: "header", cs.BODY: "transactions", cs.RECEIPTS: "receipts", cs.CERTIFICATE: "commit certificate"}[tag]
        return f"block {int.from_bytes(body, 'big')} {what}"
    if tag == cs.TX_INDEX:
        return f"transaction index entry {body.hex()}"
    if tag == LATEST:
        return f"state value {describe_state_key(body)} (latest)"
    if tag == VERSIONS and len(body) >= 10:
        n = int.from_bytes(body[:2], "big")
        return f"state value {describe_state_key(body[2:2 + n])} at height {int.from_bytes(body[-8:], 'big')}"
    if tag == TREE:
        return f"state tree {'root of height ' + str(int.from_bytes(body[1:9], 'big')) if body[:1] == b'r' else 'node ' + body.hex()}"
    if tag == b"M":
        return f"ledger metadata {body.decode(errors='replace')}"
    return f"record {key.hex()}"


def _decode_block(kv: cs.KVStore, height: int) -> tuple[BlockHeader, list[bytes], CommitCertificate]:
    where = f"block {height}"
    try:
        raw = kv.get(cs.HEADER + cs._h(height))
        if raw is None:
            raise _Found(where, "the header is missing")
        header = from_cbor(BlockHeader, raw)
        if header.height != height:
            raise _Found(f"{where} header", f"says height {header.height}")
        body_raw = kv.get(cs.BODY + cs._h(height))
        cert_raw = kv.get(cs.CERTIFICATE + cs._h(height))
        if body_raw is None or cert_raw is None:
            raise _Found(where, "the transactions or the commit certificate are missing")
        body = decode(body_raw, max_size=cs.MAX_BLOCK_RECORD)
        txs = [t for t in body if isinstance(t, bytes)] if isinstance(body, list) else []
        if not isinstance(body, list) or len(txs) != len(body):
            raise _Found(f"{where} transactions", "the body is not a list of transactions")
        return header, txs, from_cbor(CommitCertificate, cert_raw)
    except CodecError as exc:
        raise _Found(where, f"stored bytes do not decode: {exc}") from None


def _merge(a: Iterator[tuple[bytes, bytes]], b: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes | None, bytes | None]]:
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            yield x[0], x[1], None  # type: ignore[index]
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            yield y[0], None, y[1]
            y = next(b, None)
        else:
            yield x[0], x[1], y[1]
            x, y = next(a, None), next(b, None)


def audit(kv: cs.KVStore, scratch: cs.KVStore, verifier: Verifier | None = None,
          progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Replay the ledger in kv into the empty scratch store and compare; never raises on bad data."""
    blocks = txs = keys = 0
    head = -1
    try:
        suite_raw, ledger_id, head_raw = kv.get(cs.META_SUITE), kv.get(cs.META_LEDGER), kv.get(cs.META_HEIGHT)
        if suite_raw is None or ledger_id is None or head_raw is None or len(head_raw) != 8:
            raise _Found("ledger metadata", "the ledger id, suite or head pointer is missing or damaged")
        head = int.from_bytes(head_raw, "big")
        header, body, cert = _decode_block(kv, 0)
        if len(body) != 1:
            raise _Found("block 0 transactions", "the genesis block must hold exactly one transaction")
        try:
            replica = cs.ChainStore.replay_genesis(scratch, header, body[0], cert, suite_raw.decode())
        except (LedgerError, CodecError) as exc:
            raise _Found("block 0", str(exc)) from None
        if replica.ledger_id != ledger_id:
            raise _Found("ledger metadata ledger", "the ledger id is not the hash of block 0")
        blocks, txs = 1, 1
        for height in range(1, head + 1):
            header, body, cert = _decode_block(kv, height)
            try:
                proposal = replica.replay(header, body, verifier)
                replica.commit(proposal, cert)
            except (LedgerError, CodecError) as exc:
                raise _Found(f"block {height}", str(exc)) from None
            blocks += 1
            txs += len(body)
            if progress is not None:
                progress(height, head)
        stored_records = ((k, v) for k, v in kv.iterate() if not k.startswith(NOT_LEDGER_DATA))
        for key, stored, expected in _merge(stored_records, scratch.iterate()):
            keys += 1
            if stored != expected:
                what = "is missing" if stored is None else "should not exist" if expected is None else "differs from re-execution"
                raise _Found(describe_record(key), what)
    except _Found as found:
        return AuditReport(head, blocks, txs, keys, found.location, found.problem)
    return AuditReport(head, blocks, txs, keys)
