"""Serving state snapshots to new nodes: one snapshot per ledger, exported on demand to files, served by chunk."""
from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from chain.ledger.chain_store import ChainStore
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.snapshot import SnapshotManifest, export_snapshot

REUSE_BLOCKS = 100  # a snapshot at most this many blocks old is served again rather than exported anew


class SnapshotFiles:
    """The latest exported snapshot of a ledger, as chunk files in a private temporary directory."""

    def __init__(self, chain: ChainStore) -> None:
        self.chain = chain
        self._lock = threading.Lock()
        self._directory: Path | None = None
        self._manifest: SnapshotManifest | None = None

    def manifest(self) -> bytes:
        """The manifest of a snapshot at (or at most REUSE_BLOCKS below) the head, exporting one if needed."""
        with self._lock:
            current = self._manifest
            if current is None or self.chain.height - current.height > REUSE_BLOCKS:
                current = self._export()
            return current.encode()

    def chunk(self, height: int, index: int) -> bytes:
        """One encoded chunk of the snapshot at height (only the latest snapshot is kept)."""
        with self._lock:
            manifest, directory = self._manifest, self._directory
            if manifest is None or directory is None or manifest.height != height:
                raise LedgerError(f"no snapshot at height {height} is held; ask for the manifest again", ResultCode.NOT_FOUND)
            if not 0 <= index < manifest.chunk_count:
                raise LedgerError(f"the snapshot has chunks 0..{manifest.chunk_count - 1}", ResultCode.INVALID_ARGUMENT)
            return (directory / str(index)).read_bytes()

    def close(self) -> None:
        """Delete the files."""
        with self._lock:
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)
            self._directory, self._manifest = None, None

    def _export(self) -> SnapshotManifest:
        directory = Path(tempfile.mkdtemp(prefix="chain-snapshot-"))
        count = 0

        def sink(chunk: bytes) -> None:
            nonlocal count
            (directory / str(count)).write_bytes(chunk)
            count += 1

        try:
            manifest = export_snapshot(self.chain, sink)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory, self._manifest = directory, manifest
        return manifest
