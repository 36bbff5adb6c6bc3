"""One committed block as rows of the read model: decoded, checked against its header, no database involved.

The checks tie every row to the block hash: the transactions must hash to the
header's tx_root and the receipts to its receipts_root, so a block whose body
was altered, or a source that answers another height, is refused before
anything is written. Continuity with the indexed chain (previous_hash) needs
the database and is checked by the Indexer.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Union

from chain.codec import CodecError, decode
from chain.codec.schema import from_cbor
from chain.crypto import Address, CryptoError, CryptoSuite, get_suite
from chain.indexer.errors import IndexerError
from chain.ledger.block import BlockHeader
from chain.ledger.chain_store import MAX_BLOCK_RECORD
from chain.ledger.errors import Rejection
from chain.ledger.execution.executor import signer_address
from chain.ledger.merkle import list_root
from chain.ledger.operations import (
    ApproveContract,
    DeployContract,
    InvokeContract,
    Operation,
    PublishEvent,
    RegisterDataAccount,
    RegisterEventAccount,
    SetContractState,
    UpdateLedgerSettings,
    UpgradeContract,
    WriteKV,
)
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction, TxContent

# Committed transactions passed the ledger's own size limit when they were admitted; the
# indexer only bounds decoding, so the limit of a whole block record is enough.
MAX_TX_BYTES = MAX_BLOCK_RECORD

# Operations whose success changes a derived table (data_accounts, data_entries, contracts).
EffectOp = Union[RegisterDataAccount, WriteKV, DeployContract, UpgradeContract, SetContractState]


@dataclass(frozen=True)
class Effect:
    """A state-changing operation of a successful transaction, in block order."""

    height: int
    tx_hash: bytes
    signers: tuple[str, ...]
    op: EffectOp


@dataclass
class BlockRows:
    """Everything one block adds to the read model except what depends on earlier blocks (event ids, versions)."""

    height: int
    hash: bytes
    previous_hash: bytes
    block: dict[str, Any]
    transactions: list[dict[str, Any]] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    #: The data keys the block wrote as the node reports them (WriteKV and contracts' write_data alike);
    #: None from a source that does not send them, in which case they are derived from WriteKV operations.
    entries: list[dict[str, Any]] | None = None


@functools.lru_cache(maxsize=65_536)
def address_text(address: bytes) -> str:
    """Base58Check text of address bytes; "" for none (block 0's proposer, a privileged publisher); memoised."""
    try:
        return str(Address.decode(address)) if address else ""
    except CryptoError as exc:
        raise IndexerError(f"a block names an invalid address {address.hex()}: {exc}", "bad_block") from None


def _genesis_content(raw: bytes) -> TxContent:
    """The content of the genesis transaction, which is stored as [content, []] (it has no endorsements)."""
    try:
        value = decode(raw, max_size=MAX_TX_BYTES)
    except CodecError as exc:
        raise IndexerError(f"block 0: the genesis transaction is not canonical: {exc}", "bad_block") from None
    if not (isinstance(value, list) and len(value) == 2 and value[1] == []):
        raise IndexerError("block 0: the genesis transaction is not [content, []]", "bad_block")
    try:
        return TxContent.from_value(value[0])
    except Rejection as exc:
        raise IndexerError(f"block 0: the genesis transaction is malformed: {exc}", "bad_block") from None


def genesis_suite(block: dict[str, Any]) -> CryptoSuite:
    """The ledger's crypto suite, from the settings its genesis transaction starts with."""
    txs = block["transactions"]
    if len(txs) != 1:
        raise IndexerError(f"block 0 has {len(txs)} transactions; it must have exactly the genesis transaction", "bad_block")
    first = _genesis_content(txs[0]).operations[0]
    if not isinstance(first, UpdateLedgerSettings):
        raise IndexerError("block 0: the genesis transaction does not start with the ledger settings", "bad_block")
    return get_suite(first.settings.suite)


def _decode_transactions(suite: CryptoSuite, height: int, encoded: list[bytes]) -> list[Transaction]:
    if height == 0:
        genesis = [_genesis_content(raw) for raw in encoded]
        return [Transaction(content, (), suite.digest(content.encode())) for content in genesis]
    txs = []
    for index, raw in enumerate(encoded):
        try:
            txs.append(Transaction.decode(suite, raw, MAX_TX_BYTES))
        except Rejection as exc:
            raise IndexerError(f"block {height}, transaction {index} does not decode: {exc}", "bad_block") from None
    return txs


def _signers(tx: Transaction, suite: CryptoSuite, height: int) -> tuple[str, ...]:
    try:
        return tuple(address_text(signer_address(e.public_key, suite.hash_algorithm)) for e in tx.endorsements)
    except CryptoError as exc:
        raise IndexerError(f"block {height}: transaction {tx.hash.hex()} has an invalid endorsement key: {exc}",
                           "bad_block") from None


def _receipt(view: dict[str, Any]) -> Receipt:
    return Receipt(view["tx_hash"], view["height"], view["index"], view["code"], view["message"],
                   view["failed_operation"], view["result"])


def operation_row(tx_hash: bytes, height: int, index: int, op: Operation) -> dict[str, Any]:
    """The operations-table row of one operation: its type and the account, key or contract it names."""
    row: dict[str, Any] = {"tx_hash": tx_hash, "index": index, "height": height, "type_code": int(op.TYPE),
                           "type_name": type(op).__name__, "account": None, "key": None, "contract": None, "function": None}
    if isinstance(op, WriteKV):
        row["account"], row["key"] = op.account, op.key
    elif isinstance(op, PublishEvent):
        row["account"] = op.account
    elif isinstance(op, (RegisterDataAccount, RegisterEventAccount)):
        row["account"] = op.name
    elif isinstance(op, InvokeContract):
        row["contract"], row["function"] = op.name, op.function
    elif isinstance(op, (DeployContract, UpgradeContract, ApproveContract, SetContractState)):
        row["contract"] = op.name
    return row


def block_rows(block: dict[str, Any], suite: CryptoSuite, height: int) -> BlockRows:
    """Decode and check one block as the client protocol gives it; raise IndexerError if it is inconsistent."""
    try:
        header = from_cbor(BlockHeader, block["header"])
    except CodecError as exc:
        raise IndexerError(f"block {height}: the header does not decode: {exc}", "bad_block") from None
    if header.height != height:
        raise IndexerError(f"asked for block {height}, the source sent block {header.height}", "bad_block")
    txs = _decode_transactions(suite, height, block["transactions"])
    views = block["receipts"]
    hashes = [tx.hash for tx in txs]
    if list_root(suite.digest, hashes) != header.tx_root:
        raise IndexerError(f"block {height}: the transactions do not match the header's tx_root", "bad_block")
    if len(views) != len(txs) or [v["tx_hash"] for v in views] != hashes:
        raise IndexerError(f"block {height}: the receipts do not belong to the block's transactions", "bad_block")
    receipts = [_receipt(v) for v in views]
    if list_root(suite.digest, [r.encode() for r in receipts]) != header.receipts_root:
        raise IndexerError(f"block {height}: the receipts do not match the header's receipts_root", "bad_block")

    block_hash = header.hash(suite)
    rows = BlockRows(height, block_hash, header.previous_hash, {
        "height": height, "hash": block_hash, "previous_hash": header.previous_hash,
        "timestamp_ms": header.timestamp_ms, "tx_count": len(txs), "event_count": len(block["events"]),
        "state_root": header.state_root, "proposer": address_text(header.proposer)})
    for index, (tx, view, receipt) in enumerate(zip(txs, views, receipts)):
        signers = _signers(tx, suite, height)
        ops = tx.content.operations
        rows.transactions.append({
            "hash": tx.hash, "height": height, "index": index, "code": receipt.code, "code_name": view["code_name"],
            "message": receipt.message, "failed_operation": receipt.failed_operation, "result": receipt.result,
            "signers": ",".join(signers), "op_types": ",".join(type(op).__name__ for op in ops)})
        rows.operations.extend(operation_row(tx.hash, height, i, op) for i, op in enumerate(ops))
        if receipt.success:
            rows.effects.extend(Effect(height, tx.hash, signers, op) for op in ops if isinstance(
                op, (RegisterDataAccount, WriteKV, DeployContract, UpgradeContract, SetContractState)))
    included = set(hashes)
    for event in block["events"]:
        if event["height"] != height or event["tx_hash"] not in included:
            raise IndexerError(f"block {height}: an event names another block or transaction", "bad_block")
        rows.events.append({
            "account": event["account"], "topic": event["topic"], "sequence": event["sequence"],
            "content": event["content"], "publisher": address_text(event["publisher"]), "height": height,
            "tx_hash": event["tx_hash"]})
    if "entries" in block:
        rows.entries = []
        for entry in block["entries"]:
            if entry["height"] != height or entry["tx_hash"] not in included:
                raise IndexerError(f"block {height}: a data entry names another block or transaction", "bad_block")
            rows.entries.append({
                "account": entry["account"], "key": entry["key"], "value": entry["value"], "version": entry["version"],
                "writer": address_text(entry["writer"]), "height": height, "tx_hash": entry["tx_hash"]})
    return rows
