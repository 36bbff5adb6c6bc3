"""ChainStore: one ledger on one KV store: build, commit and read blocks, transactions, receipts and state.

Everything a block changes (header, body, receipts, certificate, indexes, state
values, tree nodes, the head pointer) is written in ONE atomic, synced batch,
so a crash leaves either the whole block or none of it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

import cbor2

from chain.codec import decode, encode
from chain.codec.encoder import join_array
from chain.codec.schema import from_cbor, from_value
from chain.crypto import Address, CryptoSuite, PrivateKey, get_suite, verify_serial
from chain.crypto.hashing import hash_function
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.errors import LedgerError, Pruned, Rejection, ResultCode, StoreCorruption
from chain.ledger.execution.context import BlockContext, TxContext
from chain.ledger.execution.executor import HANDLERS, execute_transaction
from chain.ledger.execution.handlers.membership import apply_due_changes
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import load
from chain.ledger.genesis import GenesisConfig
from chain.ledger.merkle import ListProof, list_proof, list_root
from chain.ledger.model import DataEntry, Event, LedgerSettings, Membership, MembershipChange
from chain.ledger.receipt import Receipt
from chain.ledger.state_store import KVReader, StateProof, StateStore
from chain.ledger.smt import TreeUpdate
from chain.ledger.transaction import Transaction, TxContent

log = logging.getLogger(__name__)
T = TypeVar("T")

META_LEDGER = b"Mledger"
META_SUITE = b"Msuite"
META_HEIGHT = b"Mheight"
META_SNAPSHOT = b"Msnapshot"  # height(8) of the state snapshot a restored store started from
HEADER = b"H"
BODY = b"B"
RECEIPTS = b"R"
CERTIFICATE = b"C"
TX_INDEX = b"X"
EVENTS = b"E"  # height(8) -> CBOR array of the state keys of the events a block published, in publication order
ENTRIES = b"D"  # height(8) -> CBOR array of the state keys of the data entries a block wrote, in first-write order
GENESIS_LEDGER_ID = bytes(32)
GENESIS_NONCE = b"genesis"
MAX_BLOCK_RECORD = 1 << 30  # block bodies and receipt lists may exceed the codec's 4 MiB default


class KVStore(KVReader, Protocol):
    """The writes the chain store needs from a KV engine."""

    def apply(self, puts: dict[bytes, bytes], deletes: Iterable[bytes] = (), *, sync: bool = True) -> None: ...


@dataclass
class _Genesis:
    """Block 0 as executed: its header, state records, validator set and the genesis receipt."""

    header: BlockHeader
    records: dict[bytes, bytes | None]
    validators: ValidatorSet
    receipt: Receipt


def _execute_genesis(kv: KVStore, suite: CryptoSuite, content: TxContent, tx_hash: bytes, timestamp_ms: int) -> _Genesis:
    """Run the genesis operations with every permission and build block 0's header."""
    from chain.ledger.operations import UpdateLedgerSettings

    first = content.operations[0]
    if not isinstance(first, UpdateLedgerSettings):
        raise LedgerError("the genesis transaction must start with the ledger settings", ResultCode.INVALID_STATE)
    state = StateStore(kv, suite.digest)
    overlay = Overlay(state)
    ctx = TxContext(BlockContext(suite, 0, timestamp_ms), tx_hash, (), first.settings, privileged=True)
    for i, op in enumerate(content.operations):
        try:
            HANDLERS[type(op)](overlay, ctx, op)
        except LedgerError as exc:
            raise LedgerError(f"genesis operation {i} ({type(op).__name__}) failed: {exc}", exc.result) from None
    validators = load(overlay, ns.validators_key(), ValidatorSet)
    if validators is None:
        raise LedgerError("genesis registers no validator node", ResultCode.INVALID_ARGUMENT)
    receipt = Receipt(tx_hash, 0, 0, 0, "", None, b"")
    root, records, _ = state.stage(None, 0, overlay.writes)
    vhash = validators.hash(suite)
    header = BlockHeader(b"", 0, bytes(32), timestamp_ms, list_root(suite.digest, [tx_hash]),
                         list_root(suite.digest, [receipt.encode()]), root, vhash, vhash, b"")
    return _Genesis(header, records, validators, receipt)


def _genesis_content(raw: bytes, suite: CryptoSuite) -> tuple[TxContent, bytes]:
    """The content and hash of the stored genesis transaction (which has no endorsements)."""
    value = decode(raw)
    if not isinstance(value, list) or len(value) != 2:
        raise StoreCorruption("the genesis transaction is malformed")
    return TxContent.from_value(value[0]), suite.digest(encode(value[0]))


def _read(state: StateStore | Overlay, key: bytes, cls: type[T], missing: str) -> T:
    """A record that every ledger state holds; StoreCorruption saying `missing` if absent."""
    raw = state.get(key)
    if raw is None:
        raise StoreCorruption(missing)
    return from_cbor(cls, raw)


def _settings_in(state: StateStore | Overlay) -> LedgerSettings:
    return _read(state, ns.settings_key(), LedgerSettings, "ledger settings are missing from state")


def _validators_in(state: StateStore | Overlay) -> ValidatorSet:
    return _read(state, ns.validators_key(), ValidatorSet, "the validator set is missing from state")


@dataclass(frozen=True)
class _Base:
    """What a new block builds on: the parent header and the state after it; when the parent is not committed
    yet, also its transaction hashes (committed ones are found through the index) and its tree update."""

    parent: BlockHeader
    state: StateStore | Overlay
    uncommitted: frozenset[bytes] = frozenset()
    tree_update: TreeUpdate | None = None


def _h(height: int) -> bytes:
    return height.to_bytes(8, "big")


@dataclass
class Candidate:
    """A transaction offered for a block, with facts the mempool established once."""

    tx: Transaction
    encoded: bytes
    signatures_valid: bool


@dataclass
class Proposal:
    """A block built on the current head, ready to be certified and committed."""

    header: BlockHeader
    transactions: list[Transaction]
    encoded: list[bytes]
    receipts: list[Receipt]
    rejected: list[tuple[Transaction, Rejection]]
    records: dict[bytes, bytes | None] = field(repr=False)
    events: list[bytes] = field(default_factory=list, repr=False)
    entries: list[bytes] = field(default_factory=list, repr=False)
    tree_update: TreeUpdate | None = field(default=None, repr=False)  # cached by the tree once committed
    state_writes: dict[bytes, bytes | None] = field(default_factory=dict, repr=False)  # state key -> value (None: deleted)

    def block_hash(self, suite: CryptoSuite) -> bytes:
        """Hash of the header."""
        return self.header.hash(suite)

    def changes_validators(self) -> bool:
        """True if the block hands certification of the next one to another validator set."""
        return self.header.next_validators_hash != self.header.validators_hash


class ChainStore:
    """A single ledger's blocks and state over a KV store owned by this process."""

    def __init__(self, kv: KVStore) -> None:
        self.kv = kv
        ledger = kv.get(META_LEDGER)
        suite = kv.get(META_SUITE)
        if ledger is None or suite is None:
            raise LedgerError("this store holds no ledger; create one from a genesis config first", ResultCode.NOT_FOUND)
        self.ledger_id = ledger
        self.suite = get_suite(suite.decode())
        self.hasher = hash_function(self.suite.hash_algorithm)  # suite.digest without a lookup per call
        self.state = StateStore(kv, self.hasher)
        self._leaves: dict[tuple[str, int], list[bytes]] = {}

    # -- creation ---------------------------------------------------------------------

    @classmethod
    def create(cls, kv: KVStore, config: GenesisConfig, validator_keys: Sequence[PrivateKey]) -> ChainStore:
        """Execute genesis, sign block 0 with the founding validators' keys, and commit it."""
        if kv.get(META_LEDGER) is not None:
            raise LedgerError("this store already holds a ledger", ResultCode.ALREADY_EXISTS)
        suite = get_suite(config.settings.suite)
        content = TxContent(GENESIS_LEDGER_ID, GENESIS_NONCE, 0, tuple(config.operations()))
        encoded = encode([content.to_value(), []])
        genesis = _execute_genesis(kv, suite, content, suite.digest(content.encode()), config.timestamp_ms)
        block_hash = genesis.header.hash(suite)
        cert = CommitCertificate.sign(0, block_hash, validator_keys)
        problem = cert.problems(genesis.validators, block_hash, 0)
        if problem:
            raise LedgerError(f"genesis signatures: {problem}", ResultCode.INVALID_ARGUMENT)
        return cls._commit_genesis(kv, suite, genesis, encoded, cert)

    # -- reading ----------------------------------------------------------------------

    @property
    def height(self) -> int:
        """Height of the last committed block."""
        raw = self.kv.get(META_HEIGHT)
        if raw is None:
            raise StoreCorruption("the head pointer is missing")
        return int.from_bytes(raw, "big")

    def header(self, height: int) -> BlockHeader:
        """A committed block header."""
        return from_cbor(BlockHeader, self._block_record(HEADER, height, "block", 0))

    def _block_record(self, prefix: bytes, height: int, what: str, first_after: int) -> bytes:
        """One stored record of a block; NOT_FOUND if there is no such block, Pruned if it predates a snapshot."""
        raw = self.kv.get(prefix + _h(height))
        if raw is None:
            self._check_pruned(height, what, first_after)
            raise LedgerError(f"no {'certificate' if prefix == CERTIFICATE else 'block'} at height {height}",
                              ResultCode.NOT_FOUND)
        return raw

    def block_hash(self, height: int) -> bytes:
        """Hash of a committed block."""
        return self.header(height).hash(self.suite)

    def certificate(self, height: int) -> CommitCertificate:
        """The commit certificate of a committed block."""
        return from_cbor(CommitCertificate, self._block_record(CERTIFICATE, height, "the certificate of block", 0))

    def transactions(self, height: int) -> list[Transaction]:
        """The transactions of a committed block, in order."""
        return [Transaction.from_value(self.suite, decode(raw)) if height else self._genesis_tx(raw)
                for raw in self.encoded_transactions(height)]

    def _genesis_tx(self, raw: bytes) -> Transaction:
        content, tx_hash = _genesis_content(raw, self.suite)
        return Transaction(content, (), tx_hash)

    def encoded_transactions(self, height: int) -> list[bytes]:
        """The canonical bytes of a block's transactions."""
        raw = self._block_record(BODY, height, "the transactions of block", 1)
        body = cbor2.loads(raw)  # our own committed record: see _receipt_values()
        txs = [t for t in body if isinstance(t, bytes)] if isinstance(body, list) else []
        if not isinstance(body, list) or len(txs) != len(body):
            raise StoreCorruption(f"block body at height {height} is malformed")
        return txs

    def events(self, height: int) -> list[Event]:
        """The events block `height` published, in order (none for blocks a restored store never executed)."""
        return [from_cbor(Event, value) for _, value in self._written(EVENTS, height)]

    def data_entries(self, height: int) -> list[tuple[str, str, DataEntry]]:
        """(account, key, entry after the block) of every data key block `height` wrote, by WriteKV or by a
        contract's write_data (none for blocks a restored store never executed)."""
        return [(*ns.parse_data_entry_key(key), from_cbor(DataEntry, value)) for key, value in self._written(ENTRIES, height)]

    def _written(self, record: bytes, height: int) -> list[tuple[bytes, bytes]]:
        """(state key, value after the block) for the key list a block stored under `record` (EVENTS, ENTRIES)."""
        raw = self.kv.get(record + _h(height))
        if raw is None:
            return []
        keys = decode(raw)
        if not isinstance(keys, list) or not all(isinstance(k, bytes) for k in keys):
            raise StoreCorruption(f"the key list stored with block {height} is malformed")
        pairs = [(key, self.state.get_at(key, height)) for key in keys if isinstance(key, bytes)]
        return [(key, value) for key, value in pairs if value is not None]

    def receipts(self, height: int) -> list[Receipt]:
        """The receipts of a committed block."""
        return [from_value(Receipt, r) for r in self._receipt_values(height)]

    def _receipt_values(self, height: int) -> list[object]:
        """The stored receipts array of a block, decoded but not yet converted."""
        raw = self._block_record(RECEIPTS, height, "the receipts of block", 1)
        # Our own committed record (the audit checks it against receipts_root): no canonical
        # re-encoding check, which would cost the whole block's receipts on every lookup.
        value = cbor2.loads(raw)
        if not isinstance(value, list):
            raise StoreCorruption(f"receipts at height {height} are malformed")
        return value

    def outcomes(self, height: int) -> list[list[Any]]:
        """[tx_hash, result code] of each transaction of a committed block, without converting whole receipts."""
        outcomes: list[list[Any]] = []
        for r in self._receipt_values(height):
            if not (isinstance(r, list) and len(r) > 3):
                raise StoreCorruption(f"receipts at height {height} are malformed")
            outcomes.append([r[0], r[3]])
        return outcomes

    def locate(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, index) of a committed transaction."""
        raw = self.kv.get(TX_INDEX + tx_hash)
        if raw is None:
            return None
        return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a committed transaction (only that one is converted, not the whole block's)."""
        where = self.locate(tx_hash)
        if where is None:
            return None
        values = self._receipt_values(where[0])
        if not 0 <= where[1] < len(values):
            raise StoreCorruption(f"transaction index points past the receipts of block {where[0]}")
        return from_value(Receipt, values[where[1]])

    def settings(self) -> LedgerSettings:
        """Current ledger settings."""
        return _settings_in(self.state)

    def validators(self) -> ValidatorSet:
        """The validator set that signs the next block."""
        return _validators_in(self.state)

    def _membership(self) -> Membership:
        """The committed membership record (none at genesis: the genesis set since 0, no changes)."""
        raw = self.state.get(ns.membership_key())
        return Membership() if raw is None else from_cbor(Membership, raw)

    def validators_since(self) -> int:
        """The first height certified by the set validators() returns: 0 for the genesis set, H after a change took effect at H."""
        return self._membership().since

    def membership_changes(self) -> tuple[MembershipChange, ...]:
        """Pending and scheduled validator membership changes, sorted by node address."""
        return self._membership().changes

    def change_due(self) -> bool:
        """True if a scheduled change is applied at the end of the next block, so it must be built even without transactions."""
        due = self.height + 2
        return any(c.activation_height is not None and c.activation_height <= due for c in self._membership().changes)

    def prove_transaction(self, tx_hash: bytes) -> tuple[int, ListProof]:
        """Height and inclusion proof of a transaction against that header's tx_root."""
        where = self.locate(tx_hash)
        if where is None:
            raise LedgerError("transaction not found", ResultCode.NOT_FOUND)
        return where[0], list_proof(self.suite.digest, self._block_leaves("tx", where[0]), where[1])

    def prove_receipt(self, tx_hash: bytes) -> tuple[int, bytes, ListProof]:
        """Height, encoded receipt and its inclusion proof against that header's receipts_root."""
        where = self.locate(tx_hash)
        if where is None:
            raise LedgerError("transaction not found", ResultCode.NOT_FOUND)
        encoded = self._block_leaves("receipt", where[0])
        return where[0], encoded[where[1]], list_proof(self.suite.digest, encoded, where[1])

    def _block_leaves(self, kind: str, height: int) -> list[bytes]:
        """Transaction hashes or encoded receipts of a committed block (the leaves of its roots), memoised:
        committed blocks never change, and proofs for one block tend to be asked for together."""
        key = (kind, height)
        leaves = self._leaves.get(key)
        if leaves is None:
            if kind == "tx":
                leaves = [t.hash for t in self.transactions(height)]
            else:
                leaves = [r.encode() for r in self.receipts(height)]
            if len(self._leaves) >= 128:
                self._leaves.pop(next(iter(self._leaves)))
            self._leaves[key] = leaves
        return leaves

    def prove_state(self, state_key: bytes, height: int | None = None) -> StateProof:
        """A state value with its proof against the state root of a height (default: latest)."""
        if height is not None:
            if height > self.height:
                raise LedgerError(f"no state at height {height}: the ledger is at height {self.height}", ResultCode.NOT_FOUND)
            self._check_pruned(height, "the state at height", 0)
        return self.state.prove(state_key, self.height if height is None else height)

    @property
    def snapshot_height(self) -> int | None:
        """The height of the state snapshot this store was restored from; None if it holds every block since genesis."""
        raw = self.kv.get(META_SNAPSHOT)
        return None if raw is None else int.from_bytes(raw, "big")

    def _check_pruned(self, height: int, what: str, first_after: int) -> None:
        """Raise Pruned if `what` at height predates the snapshot this store was restored from.

        A restored store keeps the header, certificate and state of the snapshot height itself
        (first_after=0) but not that block's transactions or receipts (first_after=1).
        """
        base = self.snapshot_height
        if base is not None and 0 <= height < base + first_after:
            kept = "nothing before it" if first_after == 0 else "no transactions or receipts up to and including it"
            raise Pruned(f"{what} {height} is not on this node: it was restored from a state snapshot at height {base}"
                         f" and has {kept}")

    # -- building and committing ------------------------------------------------------

    def build(self, candidates: Sequence[Candidate], timestamp_ms: int, proposer: PrivateKey | None = None) -> Proposal:
        """Execute candidates on the head state; rejected ones are left out with their reasons."""
        parent = self.header(self.height)
        proposer_address = b""
        if proposer is not None:
            proposer_address = Address.of(proposer.public_key(), self.suite.hash_algorithm).encode()
        return self._execute(candidates, max(timestamp_ms, parent.timestamp_ms + 1), proposer_address, strict=False)

    def build_ordered(self, candidates: Sequence[Candidate], timestamp_ms: int, proposer_address: bytes,
                      on: Proposal | None = None) -> Proposal:
        """Execute a block that consensus ordered (same result on every validator): its author's address, its time.

        Candidates beyond the block limit are rejected, not dropped, so every
        ordered transaction gets an outcome. No candidates make an empty block,
        which is how a due membership change (change_due()) takes effect.
        `on`: build on top of that proposal, the head's successor, while it is
        still being certified and committed (see `_base`).
        """
        base = self._base(on)
        limit = _settings_in(base.state).max_block_txs
        proposal = self._execute(candidates[:limit], max(timestamp_ms, base.parent.timestamp_ms + 1), proposer_address,
                                 strict=False, base=base)
        for cand in candidates[limit:]:
            proposal.rejected.append((cand.tx, Rejection("the block was full", ResultCode.LIMIT_EXCEEDED)))
        return proposal

    def _base(self, on: Proposal | None) -> _Base:
        """The head, or `on`: the head's successor, executed but not yet committed. Its effects come from its
        own records (state writes over the committed state, header, transaction hashes, tree update), which
        equal what committing it writes, so a block built on it does not depend on whether that commit
        happens meanwhile."""
        if on is None:
            return _Base(self.header(self.height), self.state)
        if on.tree_update is None:
            raise LedgerError("a block can be built on an uncommitted one only with its tree update", ResultCode.INVALID_STATE)
        state = Overlay(self.state, cache_base=True)
        state.writes = on.state_writes  # read only: the block built on it writes into its own overlay
        return _Base(on.header, state, frozenset(t.hash for t in on.transactions), on.tree_update)

    def _execute(self, candidates: Sequence[Candidate], timestamp_ms: int, proposer: bytes, *, strict: bool,
                 base: _Base | None = None) -> Proposal:
        """Execute candidates into a proposal for the block above `base` (default: the head; see `_base`)."""
        base = base or self._base(None)
        parent, earlier = base.parent, base.uncommitted
        height = parent.height + 1
        block = BlockContext(self.suite, height, timestamp_ms)
        overlay = Overlay(base.state, cache_base=True)
        conf = _settings_in(base.state)
        included: list[Transaction] = []
        encoded: list[bytes] = []
        receipts: list[Receipt] = []
        rejected: list[tuple[Transaction, Rejection]] = []
        seen: set[bytes] = set()
        for cand in candidates:
            if len(included) >= conf.max_block_txs:
                if strict:
                    raise LedgerError(f"block {height} has more than {conf.max_block_txs} transactions", ResultCode.LIMIT_EXCEEDED)
                break
            duplicate = cand.tx.hash in seen or cand.tx.hash in earlier or self.locate(cand.tx.hash) is not None
            outcome = execute_transaction(overlay, cand.tx, ledger_id=self.ledger_id, block=block, index=len(included),
                                          encoded_size=len(cand.encoded), signatures_valid=cand.signatures_valid, duplicate=duplicate)
            if outcome.rejection is not None:
                if strict:
                    raise LedgerError(
                        f"block {height}, transaction {len(included)} ({cand.tx.hash.hex()}) must be rejected: {outcome.rejection}",
                        ResultCode.INVALID_STATE,
                    )
                rejected.append((cand.tx, outcome.rejection))
                continue
            assert outcome.receipt is not None
            seen.add(cand.tx.hash)
            included.append(cand.tx)
            encoded.append(cand.encoded)
            receipts.append(outcome.receipt)
        apply_due_changes(overlay, height)  # part of this block's state: the next block is certified by the new set
        validators = _validators_in(base.state)
        after = load(overlay, ns.validators_key(), ValidatorSet) or validators
        root, records, tree_update = self.state.stage(height - 1, height, overlay.writes, base.tree_update)
        header = BlockHeader(
            self.ledger_id, height, parent.hash(self.suite), timestamp_ms,
            list_root(self.hasher, [t.hash for t in included]),
            list_root(self.hasher, [r.encode() for r in receipts]),
            root, validators.hash(self.suite), after.hash(self.suite), proposer,
        )
        event_prefix, entry_prefix = bytes([ns.Namespace.EVENT]), bytes([ns.Namespace.DATA_ENTRY])
        events = [key for key in overlay.writes if key[:1] == event_prefix]
        entries = [key for key in overlay.writes if key[:1] == entry_prefix]
        return Proposal(header, included, encoded, receipts, rejected, records, events, entries, tree_update, overlay.writes)

    def replay(self, header: BlockHeader, encoded: Sequence[bytes], verifier: Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]] | None = None) -> Proposal:
        """Re-execute a block received or stored elsewhere; raise if anything differs from its header."""
        if header.height != self.height + 1:
            raise LedgerError(f"block {header.height} does not follow height {self.height}", ResultCode.INVALID_STATE)
        parent = self.header(self.height)
        if header.timestamp_ms <= parent.timestamp_ms:
            raise LedgerError(f"block {header.height}: timestamp does not increase", ResultCode.INVALID_STATE)
        conf = self.settings()
        txs = []
        for index, raw in enumerate(encoded):
            try:
                txs.append(Transaction.decode(self.suite, raw, conf.max_tx_bytes))
            except Rejection as exc:
                raise LedgerError(f"block {header.height}, transaction {index}: {exc}", ResultCode.INVALID_STATE) from None
        items = [item for tx in txs for item in tx.signature_items()]
        verdicts = (verifier or verify_serial)(items)
        candidates, position = [], 0
        for tx, raw in zip(txs, encoded):
            count = len(tx.endorsements)
            candidates.append(Candidate(tx, raw, all(verdicts[position:position + count])))
            position += count
        proposal = self._execute(candidates, header.timestamp_ms, header.proposer, strict=True)
        for field_name in ("ledger_id", "previous_hash", "tx_root", "receipts_root", "state_root", "validators_hash", "next_validators_hash"):
            if getattr(proposal.header, field_name) != getattr(header, field_name):
                raise LedgerError(f"block {header.height}: {field_name} differs from re-execution", ResultCode.INVALID_STATE)
        return proposal

    @classmethod
    def replay_genesis(cls, kv: KVStore, header: BlockHeader, genesis_tx: bytes, certificate: CommitCertificate, suite_name: str) -> ChainStore:
        """Rebuild block 0 from its stored transaction; raise if anything differs from its header."""
        suite = get_suite(suite_name)
        content, tx_hash = _genesis_content(genesis_tx, suite)
        genesis = _execute_genesis(kv, suite, content, tx_hash, header.timestamp_ms)
        if genesis.header != header:
            raise LedgerError("block 0 differs from re-execution of the genesis transaction", ResultCode.INVALID_STATE)
        problem = certificate.problems(genesis.validators, header.hash(suite), 0)
        if problem:
            raise LedgerError(f"block 0: {problem}", ResultCode.INVALID_STATE)
        return cls._commit_genesis(kv, suite, genesis, genesis_tx, certificate)

    @classmethod
    def _commit_genesis(cls, kv: KVStore, suite: CryptoSuite, genesis: _Genesis, encoded_tx: bytes,
                        certificate: CommitCertificate) -> ChainStore:
        records = dict(genesis.records)
        records.update(cls._block_records(genesis.header, [encoded_tx], [genesis.receipt.tx_hash], [genesis.receipt], certificate))
        records[META_LEDGER] = genesis.header.hash(suite)
        records[META_SUITE] = suite.name.encode()
        cls._write(kv, records)
        return cls(kv)

    def commit(self, proposal: Proposal, certificate: CommitCertificate,
               node_records: Mapping[bytes, bytes | None] | None = None) -> None:
        """Write the block and everything it changes in one synced batch (with `node_records`: the node's own
        records outside the ledger, written or deleted (None) atomically with the block)."""
        header = proposal.header
        if header.height != self.height + 1:
            raise LedgerError(f"cannot commit height {header.height} on top of {self.height}", ResultCode.INVALID_STATE)
        problem = certificate.problems(self.validators(), header.hash(self.suite), header.height)
        if problem:
            raise LedgerError(f"block {header.height}: {problem}", ResultCode.INVALID_STATE)
        records = dict(proposal.records)
        if node_records:
            records.update(node_records)
        records.update(self._block_records(header, proposal.encoded, [t.hash for t in proposal.transactions],
                                           proposal.receipts, certificate))
        if proposal.events:
            records[EVENTS + _h(header.height)] = encode(proposal.events, max_size=MAX_BLOCK_RECORD)
        if proposal.entries:
            records[ENTRIES + _h(header.height)] = encode(proposal.entries, max_size=MAX_BLOCK_RECORD)
        self._write(self.kv, records)
        if proposal.tree_update is not None:
            self.state.committed(proposal.tree_update)

    @classmethod
    def restore(cls, kv: KVStore, suite_name: str, ledger_id: bytes, header: BlockHeader,
                certificate: CommitCertificate) -> ChainStore:
        """Open a store whose state at header.height was rebuilt from a verified snapshot (see chain.ledger.snapshot).

        The caller has checked the certificate; this writes the head records in one batch,
        after checking that the state tree stored at that height has the header's root.
        """
        if kv.get(META_LEDGER) is not None:
            raise LedgerError("this store already holds a ledger", ResultCode.ALREADY_EXISTS)
        suite = get_suite(suite_name)
        state = StateStore(kv, suite.digest)
        if not state.tree.has_version(header.height) or state.root(header.height) != header.state_root:
            raise LedgerError(f"the restored state is not the state root of block {header.height}", ResultCode.INVALID_STATE)
        h = _h(header.height)
        cls._write(kv, {HEADER + h: header.encode(), CERTIFICATE + h: certificate.encode(), META_HEIGHT: h,
                        META_SNAPSHOT: h, META_LEDGER: ledger_id, META_SUITE: suite.name.encode()})
        return cls(kv)

    @staticmethod
    def tx_index_records(height: int, tx_hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """The transaction index entries (tx hash -> height, position) of a block's transactions."""
        h = _h(height)
        return {TX_INDEX + tx_hash: h + index.to_bytes(4, "big") for index, tx_hash in enumerate(tx_hashes)}

    @staticmethod
    def _block_records(header: BlockHeader, encoded: list[bytes], hashes: list[bytes], receipts: list[Receipt],
                       certificate: CommitCertificate) -> dict[bytes, bytes | None]:
        h = _h(header.height)
        records: dict[bytes, bytes | None] = {
            HEADER + h: header.encode(),
            BODY + h: encode(encoded, max_size=MAX_BLOCK_RECORD),
            RECEIPTS + h: join_array([r.encode() for r in receipts], max_size=MAX_BLOCK_RECORD),
            CERTIFICATE + h: certificate.encode(),
            META_HEIGHT: h,
        }
        for index, tx_hash in enumerate(hashes):
            records[TX_INDEX + tx_hash] = h + index.to_bytes(4, "big")
        return records

    @staticmethod
    def _write(kv: KVStore, records: dict[bytes, bytes | None]) -> None:
        deletes = [k for k, v in records.items() if v is None]
        puts = {k: v for k, v in records.items() if v is not None} if deletes else records
        kv.apply(puts, deletes, sync=True)  # type: ignore[arg-type]

