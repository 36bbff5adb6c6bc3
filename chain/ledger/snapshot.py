"""State snapshots: a node far behind restores the state at a certified height instead of replaying every block.

The exporter streams the state at a committed height h as chunks of bounded size
plus a manifest naming the certified header of h and the hash of every chunk. The
importer trusts nothing but a validator set the caller already trusts (from a light
client, say): it checks the header's commit certificate against it, takes chunks only
in order and only if they hash as the manifest says, writes the values, their history
records and a scratch index of (key hash -> value hash), then builds the state tree
from that index in one ordered pass and opens the store only if the root is the
certified state root. Otherwise everything it wrote is deleted.

Besides the state, a snapshot carries the headers and transaction hashes of the last
`max_tx_ttl_blocks` blocks (chained by hash to the certified header, checked against
their tx roots): a restored node needs them to refuse a transaction committed shortly
before h that is replayed after it, exactly as a node with the full history does.
Formats, checks and errors: docs/state-sync.md.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from chain.codec import CodecError, encode
from chain.codec.schema import from_cbor, to_value
from chain.crypto import CryptoError, CryptoSuite, get_suite
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.chain_store import TX_INDEX, ChainStore, KVStore
from chain.ledger.errors import LedgerError, Pruned, SyncError, SyncProblem
from chain.ledger.merkle import list_root
from chain.ledger.model import LedgerSettings
from chain.ledger.smt.hashing import PLACEHOLDER, Hasher, internal_hash, leaf_hash
from chain.ledger.smt.nodes import INTERNAL, LEAF, State, encode_record, encode_root, node_key, root_key
from chain.ledger.state_store import LATEST, TREE, VERSIONS, StateStore

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 1
DEFAULT_CHUNK_BYTES = 1 << 20
MAX_TARGET_CHUNK_BYTES = 4 << 20  # keeps a chunk of tiny items under the codec's item limit
MAX_CHUNK_BYTES = 1 << 27  # the largest encoded chunk an importer decodes (a chunk holds at least one value)
MAX_STATE_KEY = 0xFFFF  # history records carry a 2-byte key length
IMPORT_SCRATCH = b"I"  # key hash -> value hash while an import runs; deleted before the store opens
_ITEM_OVERHEAD = 24  # upper bound of the encoding overhead of one state item
_HASH_OVERHEAD = 40  # encoded size of one transaction hash, rounded up
_WRITE_BATCH = 16384  # records per write batch while the tree is built or an import is wiped
_WRITTEN = (LATEST, VERSIONS, TREE, IMPORT_SCRATCH, TX_INDEX)  # what an import writes before the store opens


@dataclass(frozen=True)
class StateItem:
    """One state key and its value at the snapshot height."""

    key: bytes
    value: bytes


@dataclass(frozen=True)
class RecentBlock:
    """A block at or shortly before the snapshot height: its header and its transactions' hashes."""

    header: BlockHeader
    tx_hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class SnapshotChunk:
    """Chunk `index` of a snapshot: state items in export order, then recent blocks from the newest down."""

    index: int
    items: tuple[StateItem, ...]
    recent: tuple[RecentBlock, ...]

    def encode(self) -> bytes:
        """Canonical bytes; the manifest holds their hash."""
        return encode(to_value(self), max_size=MAX_CHUNK_BYTES)

    @classmethod
    def decode(cls, raw: bytes) -> SnapshotChunk:
        """Parse canonical bytes; anything else raises SyncError(BAD_CHUNK)."""
        try:
            return from_cbor(cls, raw, max_size=MAX_CHUNK_BYTES)
        except CodecError as exc:
            raise SyncError(f"a snapshot chunk does not decode: {exc}", SyncProblem.BAD_CHUNK) from None


@dataclass(frozen=True)
class SnapshotManifest:
    """What a snapshot is: the certified block whose state it holds, and the hash of every chunk, in order."""

    format: int
    ledger_id: bytes
    suite: str
    height: int
    header: BlockHeader
    certificate: CommitCertificate
    chunk_hashes: tuple[bytes, ...]

    @property
    def chunk_count(self) -> int:
        """Number of chunks."""
        return len(self.chunk_hashes)

    def encode(self) -> bytes:
        """Canonical bytes."""
        return encode(to_value(self), max_size=MAX_CHUNK_BYTES)

    @classmethod
    def decode(cls, raw: bytes) -> SnapshotManifest:
        """Parse canonical bytes; anything else raises SyncError(BAD_MANIFEST)."""
        try:
            return from_cbor(cls, raw, max_size=MAX_CHUNK_BYTES)
        except CodecError as exc:
            raise SyncError(f"a snapshot manifest does not decode: {exc}", SyncProblem.BAD_MANIFEST) from None

    def digest(self) -> bytes:
        """Hash of the manifest in its ledger's suite: the name peers use for this snapshot."""
        return get_suite(self.suite).digest(self.encode())


# -- export ----------------------------------------------------------------------------


def export_snapshot(chain: ChainStore, sink: Callable[[bytes], None], height: int | None = None,
                    chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> SnapshotManifest:
    """Stream the encoded chunks of the snapshot at height (default: head) to sink, then return the manifest.

    Reads only records of heights <= height, which never change, so the chain may keep committing meanwhile.
    """
    target = chain.height if height is None else height
    hashes = []
    for chunk in snapshot_chunks(chain, target, chunk_bytes):
        raw = chunk.encode()
        hashes.append(chain.suite.digest(raw))
        sink(raw)
    return SnapshotManifest(SNAPSHOT_FORMAT, chain.ledger_id, chain.suite.name, target, chain.header(target),
                            chain.certificate(target), tuple(hashes))


def snapshot_chunks(chain: ChainStore, height: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[SnapshotChunk]:
    """The chunks of the snapshot at a committed height; checks the arguments before the first chunk is asked for."""
    if not 0 <= height <= chain.height:
        raise LedgerError(f"no committed block at height {height} to snapshot (head {chain.height})")
    if not 1024 <= chunk_bytes <= MAX_TARGET_CHUNK_BYTES:
        raise LedgerError(f"chunk_bytes must be between 1024 and {MAX_TARGET_CHUNK_BYTES}")
    chain.header(height)  # raises Pruned before the snapshot base of a restored store
    first = _first_recent(chain, height)
    base = chain.snapshot_height
    if base is not None and first <= base:
        raise Pruned(f"a snapshot at height {height} needs the transactions of blocks {first}..{height}, but this store"
                     f" was restored from a snapshot at height {base} and has none up to it")
    return _pack(_stream(chain, height, first), chunk_bytes)


def _first_recent(chain: ChainStore, height: int) -> int:
    """The oldest block whose transactions could still be replayed after height (by any ttl the ledger had)."""
    ttl = max((from_cbor(LedgerSettings, value).max_tx_ttl_blocks
               for at, value in chain.state.history(ns.settings_key()) if at <= height and value is not None), default=0)
    return max(1, height + 1 - ttl)


def _stream(chain: ChainStore, height: int, first: int) -> Iterator[StateItem | RecentBlock]:
    for key, value in chain.state.items_at(height):
        yield StateItem(key, value)
    for at in range(height, first - 1, -1):
        yield RecentBlock(chain.header(at), tuple(tx.hash for tx in chain.transactions(at)))


def _size(element: StateItem | RecentBlock) -> int:
    """An upper bound of an element's encoded size."""
    if isinstance(element, StateItem):
        return len(element.key) + len(element.value) + _ITEM_OVERHEAD
    return len(element.header.encode()) + _HASH_OVERHEAD * (len(element.tx_hashes) + 1)


def _pack(elements: Iterator[StateItem | RecentBlock], chunk_bytes: int) -> Iterator[SnapshotChunk]:
    """Group elements into chunks of about chunk_bytes (more only when one element is larger)."""
    items: list[StateItem] = []
    recent: list[RecentBlock] = []
    size = index = 0
    for element in elements:
        cost = _size(element)
        if (items or recent) and size + cost > chunk_bytes:
            yield SnapshotChunk(index, tuple(items), tuple(recent))
            items, recent, size, index = [], [], 0, index + 1
        if isinstance(element, StateItem):
            items.append(element)
        else:
            recent.append(element)
        size += cost
    if items or recent:
        yield SnapshotChunk(index, tuple(items), tuple(recent))


# -- import ----------------------------------------------------------------------------


class SnapshotImporter:
    """Restores a snapshot into an empty KV store: verify the manifest, take chunks in order, then finish()."""

    def __init__(self, kv: KVStore, manifest: SnapshotManifest, ledger_id: bytes, validators: ValidatorSet) -> None:
        self.kv = kv
        self.manifest = manifest
        self.suite = _check_manifest(manifest, ledger_id, validators)
        if next(iter(kv.iterate()), None) is not None:
            raise SyncError("a snapshot is restored only into an empty store", SyncProblem.STORE_NOT_EMPTY)
        self.ledger_id = ledger_id
        self.next_chunk = 0
        self._positions = {h: i for i, h in enumerate(manifest.chunk_hashes)}
        self._last_key: tuple[int, bytes] | None = None
        self._recent: tuple[int, bytes] | None = None  # (height, hash) the next recent block must have
        self._closed = False
        self._restored = False

    @property
    def complete(self) -> bool:
        """True once every chunk was accepted."""
        return self.next_chunk == self.manifest.chunk_count

    def add_chunk(self, raw: bytes) -> int:
        """Accept the next chunk (encoded bytes) and return its index; a refused chunk changes nothing."""
        self._check_open()
        index = self._position(raw)
        chunk = SnapshotChunk.decode(raw)
        if chunk.index != index:
            raise SyncError(f"chunk {index} says it is chunk {chunk.index}", SyncProblem.BAD_CHUNK)
        records: dict[bytes, bytes] = {}
        last_key = self._stage_items(index, chunk.items, records)
        recent = self._stage_recent(index, chunk.recent, records)
        self.kv.apply(records, sync=False)
        self._last_key, self._recent = last_key, recent
        self.next_chunk += 1
        return index

    def finish(self) -> ChainStore:
        """Build the state tree, check its root against the certified header and open the restored store.

        Missing chunks raise and leave the import open; any other failure deletes everything
        written, so no usable store is left behind.
        """
        self._check_open()
        if not self.complete:
            missing = self.manifest.chunk_count - self.next_chunk
            raise SyncError(f"{missing} of {self.manifest.chunk_count} chunks are missing, from chunk {self.next_chunk} on",
                            SyncProblem.MISSING_CHUNKS)
        try:
            chain = self._finish()
        except Exception:
            self.abort()
            raise
        self._closed = self._restored = True
        log.info("restored ledger %s at height %d from %d chunks", self.ledger_id.hex()[:16], self.manifest.height,
                 self.manifest.chunk_count)
        return chain

    def abort(self) -> None:
        """Delete everything this import wrote and refuse further use (a finished restore is a ledger: kept)."""
        if self._restored:
            raise SyncError("this snapshot import has finished; the store now holds the ledger", SyncProblem.IMPORT_CLOSED)
        self._closed = True
        for prefix in _WRITTEN:
            _delete_prefix(self.kv, prefix)

    # -- chunk checks ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SyncError("this snapshot import has finished or was aborted", SyncProblem.IMPORT_CLOSED)

    def _position(self, raw: bytes) -> int:
        index = self._positions.get(self.suite.digest(raw)) if len(raw) <= MAX_CHUNK_BYTES else None
        if index is None:
            raise SyncError("the chunk matches no chunk hash of the manifest (altered, or from another snapshot)",
                            SyncProblem.UNKNOWN_CHUNK)
        if index < self.next_chunk:
            raise SyncError(f"chunk {index} was already accepted", SyncProblem.DUPLICATE_CHUNK)
        if index > self.next_chunk:
            raise SyncError(f"chunk {index} arrived before chunk {self.next_chunk}; chunks are taken in order",
                            SyncProblem.OUT_OF_ORDER_CHUNK)
        return index

    def _stage_items(self, index: int, items: tuple[StateItem, ...], records: dict[bytes, bytes]) -> tuple[int, bytes] | None:
        """Check the items' order and stage their records; return the last key (by length, then bytes)."""
        last = self._last_key
        if items and self._recent is not None:
            raise SyncError(f"chunk {index} has state items after recent blocks", SyncProblem.BAD_CHUNK)
        digest, height = self.suite.digest, self.manifest.height
        for item in items:
            order = (len(item.key), item.key)
            if not 0 < len(item.key) <= MAX_STATE_KEY or (last is not None and order <= last):
                raise SyncError(f"chunk {index}: state keys must be non-empty, at most {MAX_STATE_KEY} bytes, and strictly"
                                " increasing by length, then bytes", SyncProblem.BAD_CHUNK)
            records.update(StateStore.restored_records(item.key, item.value, height))
            records[IMPORT_SCRATCH + digest(item.key)] = digest(item.value)
            last = order
        return last

    def _stage_recent(self, index: int, blocks: tuple[RecentBlock, ...], records: dict[bytes, bytes]) -> tuple[int, bytes] | None:
        """Check that the recent blocks chain down from the certified header and stage their index entries."""
        expected = self._recent
        for block in blocks:
            header = block.header
            if expected is None:
                if header != self.manifest.header:
                    raise SyncError(f"chunk {index}: the first recent block must be the certified block {self.manifest.height}",
                                    SyncProblem.BAD_CHUNK)
            elif header.height != expected[0] or header.hash(self.suite) != expected[1]:
                raise SyncError(f"chunk {index}: recent block {header.height} is not block {expected[0]} of the certified chain",
                                SyncProblem.BAD_CHUNK)
            if header.height < 1:
                raise SyncError(f"chunk {index}: the genesis block is never a recent block", SyncProblem.BAD_CHUNK)
            if list_root(self.suite.digest, block.tx_hashes) != header.tx_root:
                raise SyncError(f"chunk {index}: the transaction hashes of block {header.height} do not match its tx_root",
                                SyncProblem.BAD_CHUNK)
            records.update(ChainStore.tx_index_records(header.height, block.tx_hashes))
            expected = (header.height - 1, header.previous_hash)
        return expected

    # -- finishing ---------------------------------------------------------------------

    def _finish(self) -> ChainStore:
        manifest = self.manifest
        root = _build_tree(self.kv, self.suite.digest, manifest.height)
        if root != manifest.header.state_root:
            raise SyncError(f"the restored state has root {root.hex()}, not the certified state root of block {manifest.height}",
                            SyncProblem.STATE_ROOT_MISMATCH, manifest.height)
        self._check_recent_coverage()
        _delete_prefix(self.kv, IMPORT_SCRATCH)
        return ChainStore.restore(self.kv, manifest.suite, self.ledger_id, manifest.header, manifest.certificate)

    def _check_recent_coverage(self) -> None:
        """The recent blocks must reach back as far as a transaction committed before the snapshot could live."""
        height = self.manifest.height
        raw = self.kv.get(LATEST + ns.settings_key())
        if raw is None:
            raise SyncError("the restored state has no ledger settings", SyncProblem.BAD_CHUNK, height)
        needed = max(1, height + 1 - from_cbor(LedgerSettings, raw).max_tx_ttl_blocks)
        reached = height + 1 if self._recent is None else self._recent[0] + 1
        if height >= 1 and reached > needed:
            raise SyncError(f"the snapshot's recent blocks reach back to {reached}; transactions from block {needed} on"
                            " could still be replayed", SyncProblem.MISSING_RECENT_BLOCKS, height)


def _check_manifest(manifest: SnapshotManifest, ledger_id: bytes, validators: ValidatorSet) -> CryptoSuite:
    """The manifest's suite, once its certificate checks out against the trusted validators."""
    if manifest.format != SNAPSHOT_FORMAT:
        raise SyncError(f"unknown snapshot format {manifest.format}", SyncProblem.BAD_MANIFEST)
    try:
        suite = get_suite(manifest.suite)
    except CryptoError as exc:
        raise SyncError(str(exc), SyncProblem.BAD_MANIFEST) from None
    header, height = manifest.header, manifest.height
    if header.height != height or manifest.certificate.height != height:
        raise SyncError("the manifest's height, header and certificate disagree", SyncProblem.BAD_MANIFEST, height)
    hashes = manifest.chunk_hashes
    if not hashes or len(set(hashes)) != len(hashes) or any(len(h) != len(suite.digest(b"")) for h in hashes):
        raise SyncError("the manifest must list distinct chunk hashes", SyncProblem.BAD_MANIFEST, height)
    named = header.hash(suite) if height == 0 else header.ledger_id
    if manifest.ledger_id != ledger_id or named != ledger_id:
        raise SyncError("the snapshot is of another ledger", SyncProblem.WRONG_LEDGER, height)
    if validators.hash(suite) != header.validators_hash:
        raise SyncError(f"block {height} is signed by a validator set other than the trusted one",
                        SyncProblem.UNKNOWN_VALIDATORS, height)
    problem = manifest.certificate.problems(validators, header.hash(suite), height)
    if problem:
        raise SyncError(f"block {height}: {problem}", SyncProblem.BAD_CERTIFICATE, height)
    return suite


def _delete_prefix(kv: KVStore, prefix: bytes) -> None:
    """Delete every key under prefix in batches."""
    batch: list[bytes] = []
    for key, _ in kv.iterate(prefix):
        batch.append(key)
        if len(batch) >= _WRITE_BATCH:
            kv.apply({}, batch, sync=False)
            batch = []
    kv.apply({}, batch, sync=True)


def _build_tree(kv: KVStore, hasher: Hasher, version: int) -> bytes:
    """Write the state tree of the scratch index at version and return its root hash."""
    writes: dict[bytes, bytes] = {}

    def emit(key: bytes, record: bytes) -> None:
        writes[TREE + key] = record
        if len(writes) >= _WRITE_BATCH:
            kv.apply(writes, sync=False)
            writes.clear()

    leaves = ((int.from_bytes(key[1:], "big"), value) for key, value in kv.iterate(IMPORT_SCRATCH))
    root = TreeBuilder(hasher, version, leaves, emit).build()
    kv.apply(writes, sync=False)
    return PLACEHOLDER if root is None else root[1]  # type: ignore[return-value]


class TreeBuilder:
    """Builds the state tree of leaves sorted by key hash bottom-up, writing each record once, all at one version.

    Same records as `SparseMerkleTree.update` from an empty tree (see chain/ledger/smt/nodes.py
    for the layout), but streaming: memory holds one path of records, never the whole state.
    """

    def __init__(self, hasher: Hasher, version: int, leaves: Iterator[tuple[int, bytes]],
                 emit: Callable[[bytes, bytes], None]) -> None:
        self.hasher = hasher
        self.version = version
        self.leaves = leaves
        self.emit = emit
        self._ahead: list[tuple[int, bytes]] = []
        self._last = -1

    def build(self) -> State | None:
        """Consume every leaf, emit the records and the root pointer, and return the root's state."""
        root = self._record(0, 0)
        if self._peek(1):
            raise ValueError("tree leaves must be sorted by key hash, without repeats")
        self.emit(root_key(self.version), encode_root(root))
        return root

    def _peek(self, n: int) -> list[tuple[int, bytes]]:
        while len(self._ahead) < n:
            leaf = next(self.leaves, None)
            if leaf is None:
                break
            if leaf[0] <= self._last:
                raise ValueError("tree leaves must be sorted by key hash, without repeats")
            self._last = leaf[0]
            self._ahead.append(leaf)
        return self._ahead

    def _count(self, depth: int, path: int) -> int:
        """How many of the next leaves (up to 2) lie under the subtree at (depth, path)."""
        shift = 256 - depth
        count = 0
        for key, _ in self._peek(2):
            if key >> shift != path >> shift:
                break
            count += 1
        return count

    def _record(self, depth: int, path: int) -> State | None:
        """The subtree at a record boundary (depth % 4 == 0): written as a record if it is internal."""
        states: list[State | None] = [None] * 32
        top = self._position(states, 1, depth, path)
        if top is None or top[0] == LEAF:
            return top
        states[1] = top
        self.emit(node_key(self.version, depth, path), encode_record(states))
        return (INTERNAL, top[1], self.version)

    def _position(self, states: list[State | None], p: int, depth: int, path: int) -> State | None:
        """Position p of a record, at depth: empty, a lone leaf, or internal over its two halves."""
        if p >= 16:
            return self._record(depth, path)
        count = self._count(depth, path)
        if count == 0:
            return None
        if count == 1:
            key, value_hash = self._ahead.pop(0)
            key_hash = key.to_bytes(32, "big")
            return (LEAF, leaf_hash(self.hasher, key_hash, value_hash), key_hash + value_hash)
        if depth >= 256:
            raise ValueError("two leaves share a 256-bit path")
        left = self._position(states, p << 1, depth + 1, path)
        right = self._position(states, (p << 1) | 1, depth + 1, path | 1 << (255 - depth))
        states[p << 1], states[(p << 1) | 1] = left, right
        left_hash = PLACEHOLDER if left is None else left[1]
        right_hash = PLACEHOLDER if right is None else right[1]
        return (INTERNAL, internal_hash(self.hasher, left_hash, right_hash), None)  # type: ignore[arg-type]

