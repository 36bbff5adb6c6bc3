"""Attack: a storage map key made of 65536 references to a 1 MiB string (64 GiB once encoded); expected: the key check pays per KiB of text, stopped by gas without encoding."""
# expect: limit:gas
from contract import Map

data = Map("data")


def attack() -> int:
    big = "a" * 1048576
    key = (big,) * 65536
    return data[key]
