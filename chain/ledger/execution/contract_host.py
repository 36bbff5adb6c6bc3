"""The ledger side of the contract VM: storage, events and data accounts of one transaction, under its permissions."""
from __future__ import annotations

from chain.contracts import HostError, Program, load_program
from chain.contracts.errors import IRError
from chain.crypto import Address
from chain.ledger import namespaces as ns
from chain.ledger.access import can_read_data_account
from chain.ledger.errors import ExecutionFailure
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.handlers.data import write_kv
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import has_ledger_permission, is_owner, load, store
from chain.ledger.model import (
    ContractAccount,
    DataAccount,
    DataEntry,
    EntityState,
    Event,
    TopicHead,
)
from chain.ledger.operations import WriteKV
from chain.ledger.permissions import LedgerPermission

CONTRACT_EVENT_PREFIX = "contract:"


def contract_event_account(contract: str) -> str:
    """The event account a contract's events are published under."""
    return CONTRACT_EVENT_PREFIX + contract


def program_of(state: Overlay, name: str, version: int | None = None) -> tuple[ContractAccount, Program]:
    """A contract's record and the loaded program of its current (or a given) version."""
    record = load(state, ns.contract_key(name), ContractAccount)
    if record is None:
        raise HostError(f"contract {name!r} does not exist")
    wanted = record.version if version is None else version
    if not 0 <= wanted <= record.version:
        raise HostError(f"contract {name!r} has versions 0..{record.version}, not {wanted}")
    code = state.get(ns.contract_code_key(name, wanted))
    if code is None:
        raise HostError(f"contract {name!r} version {wanted} has no code")
    try:
        return record, load_program(code)
    except IRError as exc:
        raise HostError(f"contract {name!r} version {wanted} does not load: {exc}") from None


class LedgerHost:
    """Host over a transaction's overlay; the VM's writes land there and are rolled back with it."""

    def __init__(self, state: Overlay, ctx: TxContext) -> None:
        self.state = state
        self.ctx = ctx

    def load(self, contract: str, key: bytes) -> bytes | None:
        """A contract's stored value."""
        return self.state.get(ns.contract_data_key(contract, key))

    def store(self, contract: str, key: bytes, value: bytes | None) -> None:
        """Write or delete a contract's stored value."""
        state_key = ns.contract_data_key(contract, key)
        if value is None:
            self.state.delete(state_key)
        else:
            self.state.put(state_key, value)

    def emit(self, contract: str, event: str, payload: bytes) -> None:
        """Append to the topic `event` of the contract's event account."""
        account = contract_event_account(contract)
        head = load(self.state, ns.event_topic_key(account, event), TopicHead)
        sequence = head.next_sequence if head is not None else 0
        publisher = self.ctx.signer_addresses[0] if self.ctx.signer_addresses else b""
        record = Event(account, event, sequence, payload, publisher, self.ctx.block.height, self.ctx.tx_hash)
        store(self.state, ns.event_key(account, event, sequence), record)
        store(self.state, ns.event_topic_key(account, event), TopicHead(sequence + 1))

    def read_data(self, contract: str, account: str, key: str) -> bytes | None:
        """A data account value, if an endorser of the transaction may read the account."""
        if load(self.state, ns.data_account_key(account), DataAccount) is None:
            raise HostError(f"data account {account!r} does not exist")
        readers = self.ctx.signer_addresses or (None,)
        if not self.ctx.privileged and not any(can_read_data_account(self.state, account, a) for a in readers):
            raise HostError(f"no endorser may read data account {account!r}")
        entry = load(self.state, ns.data_entry_key(account, key), DataEntry)
        return None if entry is None else entry.value

    def write_data(self, contract: str, account: str, key: str, value: bytes) -> None:
        """Write a data account key as the transaction's endorsers (owner or WRITE_ANY_DATA_ACCOUNT)."""
        record = load(self.state, ns.data_account_key(account), DataAccount)
        if record is None:
            raise HostError(f"data account {account!r} does not exist")
        if not is_owner(record.owners, self.ctx) and not has_ledger_permission(self.state, self.ctx, LedgerPermission.WRITE_ANY_DATA_ACCOUNT):
            raise HostError(f"no endorser owns data account {account!r} or holds WRITE_ANY_DATA_ACCOUNT")
        try:
            write_kv(self.state, self.ctx, WriteKV(account, key, value, None))
        except ExecutionFailure as exc:
            raise HostError(str(exc)) from None

    def program(self, contract: str) -> Program:
        """Another contract's current program, if it is active."""
        record, program = program_of(self.state, contract)
        if record.state is not EntityState.NORMAL:
            raise HostError(f"contract {contract!r} is {record.state.name}")
        return program


def origin_of(ctx: TxContext) -> str:
    """The first endorser's address as text (what contracts see as origin() and caller())."""
    if not ctx.signers:
        return ""
    return str(Address.decode(ctx.signers[0].address))
