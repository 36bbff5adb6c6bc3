"""Child process of the crash test: commit numbered batches forever, printing each number once committed.

python crash_writer.py DB_PATH KEYS_PER_BATCH VALUE_SIZE
Batch n writes KEYS_PER_BATCH keys b"b/<n>/<i>" and sets b"meta/last" = n, in
one synced batch; it continues after the last batch already in the database.
"""
from __future__ import annotations

import sys

from chain.storage import LevelDBKV


def value(n: int, i: int, size: int) -> bytes:
    """The deterministic value of key i of batch n."""
    head = b"%08d/%03d:" % (n, i)
    return (head * (size // len(head) + 1))[:size]


def batch_key(n: int, i: int) -> bytes:
    """Key i of batch n."""
    return b"b/%08d/%03d" % (n, i)


def main() -> None:
    path, keys, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = LevelDBKV(path)
    last = store.get(b"meta/last")
    n = int(last) if last else 0
    while True:
        n += 1
        puts = {batch_key(n, i): value(n, i, size) for i in range(keys)}
        puts[b"meta/last"] = b"%d" % n
        store.apply(puts, sync=True)
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
