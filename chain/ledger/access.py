"""Read access to data accounts, enforced where data leaves the node (queries, gateway).

Every node holds every value (that is what replication means), so a read
restriction is a promise of the node and gateway APIs, not of the bytes on
disk; data that must stay secret from other members' nodes is sealed before it
is written (private data envelopes).
"""
from __future__ import annotations

from chain.ledger import namespaces as ns
from chain.ledger.execution.overlay import Overlay, StateReader
from chain.ledger.execution.records import load, permissions_of
from chain.ledger.model import DataAccount, EntityState, UserRecord
from chain.ledger.permissions import LedgerPermission


def can_read_data_account(state: StateReader, account: str, reader: bytes | None) -> bool:
    """True if the account is public, or reader (an address) owns it, holds a reader role or READ_ANY."""
    view = Overlay(state)
    record = load(view, ns.data_account_key(account), DataAccount)
    if record is None:
        return False
    if not record.readers:
        return True
    if reader is None:
        return False
    if reader in record.owners:
        return True
    user = load(view, ns.user_key(reader), UserRecord)
    if user is None or user.state is not EntityState.NORMAL:
        return False
    if permissions_of(view, user)[0] & LedgerPermission.READ_ANY_DATA_ACCOUNT:
        return True
    return any(role in record.readers for role in user.roles)
