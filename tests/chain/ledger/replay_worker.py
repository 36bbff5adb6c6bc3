"""Replay a recorded chain in a fresh process (run with another PYTHONHASHSEED): exit 0 only if every block re-executes identically.

Input (argv[1]): canonical CBOR of [suite, [[header, [encoded tx, ...], certificate], ...]] from height 0.
"""
from __future__ import annotations

import sys

from chain.codec import decode
from chain.codec.schema import from_cbor
from chain.ledger.block import BlockHeader, CommitCertificate
from chain.ledger.chain_store import ChainStore
from chain.storage.memory import MemoryKV


def main(path: str) -> int:
    with open(path, "rb") as file:
        suite, blocks = decode(file.read())
    genesis_header, genesis_txs, genesis_cert = blocks[0]
    chain = ChainStore.replay_genesis(MemoryKV(), from_cbor(BlockHeader, genesis_header), genesis_txs[0],
                                      from_cbor(CommitCertificate, genesis_cert), suite)
    for header, txs, cert in blocks[1:]:
        proposal = chain.replay(from_cbor(BlockHeader, header), txs)  # raises if any root differs
        chain.commit(proposal, from_cbor(CommitCertificate, cert))
    print(f"replayed {chain.height} blocks, state root {chain.header(chain.height).state_root.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
