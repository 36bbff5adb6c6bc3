"""Attack: rebind a storage map's name inside a function to redirect writes; expected: refused at compile time."""
# expect: compile
from contract import Map

balances = Map("balances", default=0)


def attack() -> int:  # <- refused
    balances = {}
    balances["me"] = 10**9
    return 0
