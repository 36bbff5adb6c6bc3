"""Attack: smuggle a module through the contract API (`from contract import os`); expected: refused at compile time."""
# expect: compile
from contract import os  # <- refused


def attack() -> int:
    return 0
