"""Attack: read a storage map with a 1 MiB key in a loop (each access would encode and hash the key); expected: refused at run time (map keys are at most 1 KiB)."""
# expect: runtime
from contract import Map

data = Map("data", default=0)


def attack() -> int:
    key = "k" * 1048576
    n = 0
    while True:
        n += data[key]
