"""Attack: call a method on a storage map (`balances.keys()`) to enumerate accounts; expected: refused at compile time."""
# expect: compile
from contract import Map

balances = Map("balances", default=0)


def attack() -> list:
    return balances.keys()  # <- refused
