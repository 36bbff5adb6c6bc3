"""Block sync: a lagging or new node catches up by replaying certified blocks fetched from an untrusted peer.

Nothing a peer sends is trusted. Each block is checked in stages, cheapest first,
against what the local store already holds: it must be the next height of this
ledger, link to the local head's hash, name the validator set the local state says
signs that height, and carry a commit certificate from a quorum of that set. Only
then is it executed (`ChainStore.replay`, which must reproduce the header exactly)
and committed. Validator-set changes are followed because the set is read from the
local state after each block. A refused block leaves the store as it was; the blocks
before it stay committed. See docs/state-sync.md.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

from chain.codec import CodecError, encode
from chain.codec.schema import from_cbor, to_value
from chain.crypto import get_suite
from chain.ledger.block import BlockHeader, CommitCertificate
from chain.ledger.chain_store import MAX_BLOCK_RECORD, ChainStore, KVStore, Proposal
from chain.ledger.errors import LedgerError, SyncError, SyncProblem

log = logging.getLogger(__name__)

Verifier = Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]]

DEFAULT_SYNC_BYTES = 4 * 1024 * 1024  # a batch of blocks a peer serves in one answer


@dataclass(frozen=True)
class SyncedBlock:
    """A committed block as it travels between nodes: header, transactions (canonical bytes), certificate."""

    header: BlockHeader
    transactions: tuple[bytes, ...]
    certificate: CommitCertificate

    def encode(self) -> bytes:
        """Canonical bytes: `[header, [tx, ...], certificate]`."""
        return encode(to_value(self), max_size=MAX_BLOCK_RECORD)

    @classmethod
    def decode(cls, raw: bytes, max_size: int = MAX_BLOCK_RECORD) -> SyncedBlock:
        """Parse canonical bytes; anything else raises SyncError(MALFORMED)."""
        try:
            return from_cbor(cls, raw, max_size=max_size)
        except CodecError as exc:
            raise SyncError(f"a synced block does not decode: {exc}", SyncProblem.MALFORMED) from None

    @property
    def height(self) -> int:
        """The block's height."""
        return self.header.height


def serve_blocks(chain: ChainStore, first: int, last: int, max_bytes: int = DEFAULT_SYNC_BYTES) -> list[SyncedBlock]:
    """Committed blocks first..last (clipped to the head) whose encodings fit in max_bytes together.

    The first block is always included, however large, so a peer always makes progress;
    the receiver bounds what it accepts when decoding. Blocks before a snapshot restore raise Pruned.
    """
    if first < 0 or last < first or max_bytes < 1:
        raise LedgerError(f"bad block range {first}..{last} (max {max_bytes} bytes)")
    blocks: list[SyncedBlock] = []
    size = 0
    for height in range(first, min(last, chain.height) + 1):
        block = _stored_block(chain, height)
        size += len(block.encode())
        if blocks and size > max_bytes:
            break
        blocks.append(block)
    return blocks


def _stored_block(chain: ChainStore, height: int) -> SyncedBlock:
    return SyncedBlock(chain.header(height), tuple(chain.encoded_transactions(height)), chain.certificate(height))


def sync_genesis(kv: KVStore, block: SyncedBlock, ledger_id: bytes, suite_name: str) -> ChainStore:
    """Start a new node's empty store from a peer's block 0, trusted only if it hashes to the known ledger id."""
    header = block.header
    if header.height != 0 or len(block.transactions) != 1:
        raise SyncError("block 0 must be the genesis block with exactly one transaction", SyncProblem.MALFORMED, 0)
    try:
        if header.hash(get_suite(suite_name)) != ledger_id:
            raise SyncError("block 0 is not the genesis block of this ledger", SyncProblem.WRONG_LEDGER, 0)
        return ChainStore.replay_genesis(kv, header, block.transactions[0], block.certificate, suite_name)
    except SyncError:
        raise
    except (LedgerError, CodecError) as exc:
        raise SyncError(f"block 0 from the peer does not replay: {exc}", SyncProblem.REPLAY_MISMATCH, 0) from None


class BlockSync:
    """Applies certified blocks from an untrusted peer to a local chain store, one height at a time."""

    def __init__(self, chain: ChainStore, verifier: Verifier | None = None) -> None:
        self.chain = chain
        self.verifier = verifier

    def apply_all(self, blocks: Iterable[SyncedBlock]) -> int:
        """Apply blocks in order; stop at the first refused one (raising it). Returns how many were committed."""
        count = 0
        for block in blocks:
            self.apply(block)
            count += 1
        return count

    def apply(self, block: SyncedBlock) -> Proposal:
        """Check, replay and commit the next block; raise SyncError and change nothing if it is refused."""
        proposal = self.replayed(block)
        self.chain.commit(proposal, block.certificate)
        log.debug("synced block %d (%d transactions)", block.height, len(block.transactions))
        return proposal

    def replayed(self, block: SyncedBlock) -> Proposal:
        """Check and replay the next block without committing it (the caller commits, maybe with more records)."""
        self.check(block)
        height = block.header.height
        try:
            return self.chain.replay(block.header, block.transactions, self.verifier)
        except (LedgerError, CodecError) as exc:
            raise SyncError(f"block {height} from the peer does not replay: {exc}", SyncProblem.REPLAY_MISMATCH, height) from None

    def check(self, block: SyncedBlock) -> None:
        """The checks that need no execution: height, ledger, link, validator set, certificate."""
        self._check_position(block.header)
        self._check_certificate(block.header, block.certificate)

    def _check_position(self, header: BlockHeader) -> None:
        chain = self.chain
        head = chain.height
        if header.height != head + 1:
            raise SyncError(f"block {header.height} does not follow the local head {head}", SyncProblem.NOT_NEXT, header.height)
        if header.ledger_id != chain.ledger_id:
            raise SyncError(f"block {header.height} belongs to another ledger", SyncProblem.WRONG_LEDGER, header.height)
        if header.previous_hash != chain.block_hash(head):
            raise SyncError(f"block {header.height}: previous_hash is not the hash of local block {head}",
                            SyncProblem.WRONG_PREVIOUS_HASH, header.height)

    def _check_certificate(self, header: BlockHeader, certificate: CommitCertificate) -> None:
        chain = self.chain
        validators = chain.validators()
        if header.validators_hash != validators.hash(chain.suite):
            raise SyncError(f"block {header.height} names a validator set other than the one in force at that height",
                            SyncProblem.UNKNOWN_VALIDATORS, header.height)
        problem = certificate.problems(validators, header.hash(chain.suite), header.height)
        if problem:
            raise SyncError(f"block {header.height}: {problem}", SyncProblem.BAD_CERTIFICATE, header.height)
