"""The read model's tables: what the indexer fills from committed blocks (SQLAlchemy 2.x declarative).

One database (or PostgreSQL schema) holds one ledger's read model. Hashes and
other binary values are stored as bytes; addresses as their Base58Check text,
so SQL users can compare them with what the CLI prints. Lists (signers, owners,
readers, operation names) are comma-joined text: addresses and names never
contain commas. docs/indexer.md describes every table.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The indexer's own metadata: rebuild() drops and recreates exactly these tables, nothing else in the database."""

    metadata = MetaData()


class BlockRow(Base):
    """A committed block header."""

    __tablename__ = "blocks"

    height: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    previous_hash: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    tx_count: Mapped[int]
    event_count: Mapped[int]
    state_root: Mapped[bytes] = mapped_column(LargeBinary)
    proposer: Mapped[str] = mapped_column(String)  # address text; "" for block 0


class TxRow(Base):
    """A committed transaction with its receipt (failed ones too: they are in the block)."""

    __tablename__ = "transactions"
    __table_args__ = (UniqueConstraint("height", "index"),)

    hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    height: Mapped[int] = mapped_column(BigInteger, ForeignKey("blocks.height"))
    index: Mapped[int]
    code: Mapped[int]
    code_name: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text)
    failed_operation: Mapped[int | None]
    result: Mapped[bytes] = mapped_column(LargeBinary)
    signers: Mapped[str] = mapped_column(Text)  # endorsers' addresses, comma-joined; "" for the genesis transaction
    op_types: Mapped[str] = mapped_column(Text)  # operation names in order, comma-joined


class OperationRow(Base):
    """One operation of a transaction, with the names it touches."""

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operations_account_key", "account", "key"), Index("ix_operations_contract", "contract"))

    tx_hash: Mapped[bytes] = mapped_column(LargeBinary, ForeignKey("transactions.hash"), primary_key=True)
    index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    height: Mapped[int] = mapped_column(BigInteger, index=True)
    type_code: Mapped[int]
    type_name: Mapped[str] = mapped_column(String)
    account: Mapped[str | None] = mapped_column(String)  # data or event account (WriteKV, PublishEvent, Register*Account)
    key: Mapped[str | None] = mapped_column(Text)  # WriteKV
    contract: Mapped[str | None] = mapped_column(String)  # contract operations
    function: Mapped[str | None] = mapped_column(String)  # InvokeContract


class EventRow(Base):
    """A published event; `id` numbers every event of the ledger from 1 in block order."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("account", "topic", "sequence"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String)
    topic: Mapped[str] = mapped_column(String)
    sequence: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    publisher: Mapped[str] = mapped_column(String)  # address text
    height: Mapped[int] = mapped_column(BigInteger, ForeignKey("blocks.height"), index=True)
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary, ForeignKey("transactions.hash"), index=True)


class DataAccountRow(Base):
    """A data account, from its successful RegisterDataAccount."""

    __tablename__ = "data_accounts"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    owners: Mapped[str] = mapped_column(Text)
    readers: Mapped[str] = mapped_column(Text)  # role names; "" = public
    height: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary)


class DataEntryRow(Base):
    """The latest value of a data account key written by WriteKV operations; version counts those writes from 0."""

    __tablename__ = "data_entries"

    account: Mapped[str] = mapped_column(String, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(BigInteger)
    writer: Mapped[str] = mapped_column(String)  # first endorser's address text
    height: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary)


class ContractRow(Base):
    """A contract's current version, code hash and state (from DeployContract, UpgradeContract, SetContractState)."""

    __tablename__ = "contracts"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int]
    code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String)  # NORMAL or FROZEN
    owners: Mapped[str] = mapped_column(Text)
    deployed_height: Mapped[int] = mapped_column(BigInteger)
    height: Mapped[int] = mapped_column(BigInteger)  # of the last change
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary)  # of the last change


class Checkpoint(Base):
    """The last block indexed: written in the same database transaction as that block's rows."""

    __tablename__ = "checkpoints"

    ledger: Mapped[str] = mapped_column(String, primary_key=True)
    height: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary)
    suite: Mapped[str] = mapped_column(String)  # the ledger's crypto suite, read from its genesis settings
