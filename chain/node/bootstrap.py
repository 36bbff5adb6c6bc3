"""A new node's ledger from a peer's state snapshot, trusting nothing but its own genesis block.

The node holds block 0 (from `chain net init` or a genesis file), so it knows
the ledger id and the genesis validators. It follows the peer's headers as a
light client: each header needs a quorum certificate of the set in force, and
where a header announces a new set, the set's record is fetched with a state
proof against that header's state root. The snapshot's manifest must then be
the trusted header at its height, and `SnapshotImporter` checks every chunk
and rebuilds the state root. The restored store replaces the genesis-only one
in one rename; the BFT engine then catches up the blocks after the snapshot
(docs/consensus.md, "Catching up from far behind").
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from chain.codec.schema import from_cbor
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.chain_store import ChainStore
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.light_client import LightClient
from chain.ledger.smt import SparseMerkleProof
from chain.ledger.snapshot import SnapshotImporter, SnapshotManifest
from chain.storage import open_store

log = logging.getLogger(__name__)


class BootstrapError(LedgerError):
    """The ledger cannot be restored as asked (a used store, a peer that cannot prove what it sends)."""

    result = ResultCode.INVALID_STATE


def follow_headers(client: Any, ledger: str, light: LightClient, target: int) -> None:
    """Accept the peer's headers 1..target into the light client, proving each announced validator set."""
    announced: ValidatorSet | None = None
    height = 1
    while height <= target:
        rows = client.call("headers", ledger=ledger, first=height, last=target)
        if not rows:
            raise BootstrapError(f"the peer sent no header at height {height}")
        for header_raw, cert_raw in rows:
            header = from_cbor(BlockHeader, header_raw)
            if header.height != height:
                raise BootstrapError(f"the peer sent header {header.height} where {height} was due")
            light.accept(header, from_cbor(CommitCertificate, cert_raw), announced)
            announced = None
            if header.next_validators_hash != header.validators_hash:
                announced = _proven_validators(client, ledger, light, height)
            height += 1


def _proven_validators(client: Any, ledger: str, light: LightClient, height: int) -> ValidatorSet:
    """The validator set record after block `height`, checked against that trusted header's state root."""
    key = ns.validators_key()
    answer = client.call("state", ledger=ledger, key=key, height=height)
    light.verify_state(height, key, answer["value"], SparseMerkleProof.from_cbor(answer["proof"]))
    return from_cbor(ValidatorSet, answer["value"])


def restore(client: Any, ledger: str, store_path: Path,
            progress: Callable[[str], None] = lambda _: None) -> int:
    """Replace the genesis-only store at store_path with the peer's latest snapshot; return its height."""
    kv = open_store(str(store_path), create_if_missing=False)
    try:
        chain = ChainStore(kv)
        if chain.height != 0:
            raise BootstrapError(f"ledger {ledger!r} is at height {chain.height}: restoring is for a new node "
                                 "(a running node catches up by itself)")
        light = LightClient(chain.suite, chain.ledger_id, chain.validators())
        light.accept_genesis(chain.header(0), chain.certificate(0))
        ledger_id = chain.ledger_id
    finally:
        kv.close()
    manifest = SnapshotManifest.decode(client.call("snapshot", ledger=ledger))
    progress(f"peer offers a snapshot at height {manifest.height} in {manifest.chunk_count} chunks; following headers")
    follow_headers(client, ledger, light, manifest.height)
    if manifest.header != light.header(manifest.height):
        raise BootstrapError("the snapshot's header is not the certified header at its height")
    staging = store_path.with_name(store_path.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    target = open_store(str(staging))
    try:
        importer = SnapshotImporter(target, manifest, ledger_id, light.validators)
        for index in range(manifest.chunk_count):
            importer.add_chunk(client.call("snapshot_chunk", ledger=ledger, height=manifest.height, index=index))
            progress(f"chunk {index + 1}/{manifest.chunk_count}")
        importer.finish()
    except BaseException:
        target.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    target.close()
    retired = store_path.with_name(store_path.name + ".genesis-only")
    store_path.rename(retired)
    staging.rename(store_path)
    shutil.rmtree(retired, ignore_errors=True)
    log.warning("ledger %s restored from a snapshot at height %d", ledger, manifest.height)
    return manifest.height
