"""Attack: take a storage map as a value to enumerate or alias it; expected: refused at compile time."""
# expect: compile
from contract import Map

balances = Map("balances", default=0)


def attack() -> int:
    everything = balances  # <- refused
    return 0
