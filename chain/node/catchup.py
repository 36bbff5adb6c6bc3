"""Ledger catch-up for a BFT node too far behind for consensus sync: certified ledger blocks plus a consensus anchor.

Peers keep only recent consensus blocks (and a few ended epochs), but every
ledger block is stored for good with its commit certificate. A node whose
execution has stalled while peers are ahead asks a peer for ledger blocks from
its head on (`[first]`); the answer is `[[synced block, ...], anchor or null]`.
Each block is checked and replayed by `chain.ledger.block_sync` (certificate of
the validator set in force, identical re-execution), so nothing a peer sends
is trusted. The anchor is the consensus block (with its QC) that produced the
last block served: the node resumes consensus from it, so no consensus block is
executed twice or skipped. It must carry a valid QC of the epoch in force and
match the ledger block's time and proposer.
"""
from __future__ import annotations

from typing import Any, Sequence, cast

from chain.codec import decode, encode
from chain.codec.schema import from_cbor, to_cbor
from chain.consensus.bft.committee import Committee, SignatureCache
from chain.consensus.bft.errors import ConsensusError
from chain.consensus.bft.messages import CertifiedBlock
from chain.ledger.block import BlockHeader
from chain.ledger.block_sync import SyncedBlock, serve_blocks
from chain.ledger.chain_store import ChainStore

ANCHOR_PREFIX = b"Oat"  # + height (8 bytes): the consensus block that produced that ledger block
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class CatchUpError(Exception):
    """A peer's catch-up answer is malformed or its anchor does not fit."""


def anchor_key(height: int) -> bytes:
    """Where the consensus block that produced ledger block `height` is kept (node-local, prefix O)."""
    return ANCHOR_PREFIX + height.to_bytes(8, "big")


def serve(chain: ChainStore, kv: Any, first: int, max_bytes: int = MAX_ANSWER_BYTES) -> bytes | None:
    """Blocks first.. (up to max_bytes) and the anchor of the last one, or None if there is nothing to serve."""
    if not 1 + (chain.snapshot_height or 0) <= first <= chain.height:  # a restored store has no older blocks
        return None
    blocks = serve_blocks(chain, first, chain.height, max_bytes)
    anchor = kv.get(anchor_key(blocks[-1].height))
    return encode([[b.encode() for b in blocks], anchor])


def parse(body: bytes) -> tuple[list[SyncedBlock], CertifiedBlock | None]:
    """A peer's answer, strictly decoded (raises CatchUpError)."""
    value = decode(body)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list)
            and all(isinstance(b, bytes) for b in value[0]) and (value[1] is None or isinstance(value[1], bytes))):
        raise CatchUpError("catch-up answer must be [[block bytes, ...], anchor bytes or null]")
    blocks = [SyncedBlock.decode(cast(bytes, b)) for b in value[0]]  # all bytes (checked above)
    for before, after in zip(blocks, blocks[1:]):
        if after.height != before.height + 1:
            raise CatchUpError("catch-up blocks are not consecutive")
    anchor = None if value[1] is None else from_cbor(CertifiedBlock, value[1])
    return blocks, anchor


def check_anchor(chain: ChainStore, header: BlockHeader, anchor: CertifiedBlock, signatures: SignatureCache) -> None:
    """Raise CatchUpError unless anchor is a certified block of the epoch in force that produced `header`.

    Call it before the block is committed: the set in force then is the one
    whose epoch ordered the block.
    """
    block, qc = anchor.block, anchor.qc
    epoch = chain.validators_since()
    validators = chain.validators().validators
    if block.epoch != epoch:
        raise CatchUpError(f"anchor of epoch {block.epoch}; ledger block {header.height} is in epoch {epoch}")
    if qc.block_id != block.id(chain.suite.digest) or qc.height != block.height or qc.round != block.round:
        raise CatchUpError("the anchor's QC is for another block")
    try:
        Committee(epoch, tuple(v.public_key for v in validators), signatures).check_qc(qc)
    except ConsensusError as exc:
        raise CatchUpError(f"anchor QC: {exc}") from None
    if not 0 <= block.author < len(validators) or validators[block.author].address != header.proposer:
        raise CatchUpError("the anchor's author did not propose this ledger block")
    if max(block.timestamp_ms, chain.header(chain.height).timestamp_ms + 1) != header.timestamp_ms:
        raise CatchUpError("the anchor's time is not the ledger block's time")  # as ChainStore.build_ordered sets it


def anchor_records(anchor: CertifiedBlock, height: int, tip_key: bytes) -> dict[bytes, bytes]:
    """The records that make `anchor` the executed consensus tip for ledger block `height`."""
    raw = to_cbor(anchor)
    return {tip_key: raw, anchor_key(height): raw}


def heights(blocks: Sequence[SyncedBlock]) -> str:
    """'a..b' for log lines."""
    return f"{blocks[0].height}..{blocks[-1].height}" if blocks else "none"
