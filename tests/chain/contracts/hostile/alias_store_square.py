"""Attack: store an aliased 2**32-item list in a storage map; expected: refused by the stored-value limit without encoding."""
# expect: limit:output
from contract import Map

data = Map("data")


def attack() -> None:
    row = [0] * 65536
    data["grid"] = [row] * 65536
