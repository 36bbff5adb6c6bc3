"""Attack: store a 100 kB value in one map entry; expected: stopped by the stored-value limit."""
# expect: limit:output
from contract import Map

data = Map("data")


def attack() -> None:
    data["big"] = "a" * 100000
