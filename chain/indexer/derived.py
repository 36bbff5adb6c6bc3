"""Tables that follow the ledger's state: data accounts, the latest value of each data key, contracts.

Data entries come from the block's `entries` (every key it wrote, by WriteKV or
a contract's write_data, as the block left it); from a source without them they
are derived from WriteKV operations with the handler's rule (new key version 0,
then + 1; a stated expected version, which the ledger checked, + 1).
Contracts and data accounts are derived from the operations of successful
transactions: DeployContract makes version 0 with the suite hash of the IR,
UpgradeContract the next version, SetContractState the state.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.crypto import CryptoSuite
from chain.indexer.bulk import insert_rows, update_rows
from chain.indexer.errors import IndexerError
from chain.indexer.models import ContractRow, DataAccountRow, DataEntryRow
from chain.indexer.rows import Effect
from chain.ledger.model import EntityState
from chain.ledger.operations import DeployContract, RegisterDataAccount, SetContractState, UpgradeContract, WriteKV

IN_CHUNK = 500  # bound parameters per IN (...) lookup: well under every engine's limit

EntryKey = tuple[str, str]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def _entries(session: Session, keys: set[EntryKey]) -> dict[EntryKey, dict[str, Any]]:
    """The indexed rows of these data keys (the ones that exist), looked up per account."""
    by_account: dict[str, list[str]] = {}
    for account, key in keys:
        by_account.setdefault(account, []).append(key)
    found: dict[EntryKey, dict[str, Any]] = {}
    for account, names in by_account.items():
        for chunk in _chunks(sorted(names)):
            query = select(DataEntryRow.__table__).where(DataEntryRow.account == account, DataEntryRow.key.in_(chunk))
            for row in session.execute(query).mappings():
                found[(row["account"], row["key"])] = dict(row)
    return found


def _contracts(session: Session, names: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(names)):
        for row in session.execute(select(ContractRow.__table__).where(ContractRow.name.in_(chunk))).mappings():
            found[row["name"]] = dict(row)
    return found


def apply_effects(session: Session, effects: Sequence[Effect], suite: CryptoSuite,
                  block_entries: Sequence[dict[str, Any]] | None = None) -> None:
    """Update the derived tables for one block's effects, in order, with bulk inserts and updates.

    With `block_entries` (what the node reports the block wrote, contracts' writes included) data_entries takes
    them as they are; without, it derives them from the WriteKV operations.
    """
    if block_entries is not None:
        keys = {(e["account"], e["key"]) for e in block_entries}
    else:
        keys = {(e.op.account, e.op.key) for e in effects if isinstance(e.op, WriteKV)}
    entries = _entries(session, keys)
    contracts = _contracts(session, {e.op.name for e in effects
                                     if isinstance(e.op, (DeployContract, UpgradeContract, SetContractState))})
    known_entries, known_contracts = set(entries), set(contracts)
    accounts: list[dict[str, Any]] = []
    for effect in effects:
        op, where = effect.op, {"height": effect.height, "tx_hash": effect.tx_hash}
        if isinstance(op, RegisterDataAccount):
            accounts.append({"name": op.name, "owners": ",".join(effect.signers), "readers": ",".join(op.readers), **where})
        elif isinstance(op, WriteKV):
            if block_entries is not None:
                continue
            current = entries.get((op.account, op.key))
            if op.expected_version is not None:  # the ledger checked it, so the version before this write is known
                version = op.expected_version + 1
            else:
                version = 0 if current is None else current["version"] + 1
            entries[(op.account, op.key)] = {"account": op.account, "key": op.key, "value": op.value, "version": version,
                                             "writer": effect.signers[0] if effect.signers else "", **where}
        elif isinstance(op, DeployContract):
            if op.name in contracts:
                raise IndexerError(f"block {effect.height} deploys contract {op.name!r}, which the index already holds",
                                   "inconsistent")
            contracts[op.name] = {"name": op.name, "version": 0, "code_hash": suite.digest(op.code),
                                  "state": EntityState.NORMAL.name, "owners": ",".join(effect.signers),
                                  "deployed_height": effect.height, **where}
        else:
            record = contracts.get(op.name)
            if record is None:
                raise IndexerError(f"block {effect.height} changes contract {op.name!r}, which the index does not hold",
                                   "inconsistent")
            if isinstance(op, UpgradeContract):
                record.update(version=record["version"] + 1, code_hash=suite.digest(op.code), **where)
            else:
                record.update(state=EntityState(op.state).name, **where)
    for entry in block_entries or ():
        entries[(entry["account"], entry["key"])] = dict(entry)
    insert_rows(session, DataAccountRow, accounts)
    _write(session, DataEntryRow, entries, known_entries)
    _write(session, ContractRow, contracts, known_contracts)


def _write(session: Session, model: Any, rows: dict[Any, dict[str, Any]], known: set[Any]) -> None:
    """Insert the new rows and update the indexed ones, each as one executemany."""
    insert_rows(session, model, [row for key, row in rows.items() if key not in known])
    update_rows(session, model, [row for key, row in rows.items() if key in known])
