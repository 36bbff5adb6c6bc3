"""Attack: `break` outside a loop (CPython refuses it) silently ending the function early; expected: refused at compile time."""
# expect: compile
from contract import Map

data = Map("data")


def attack() -> int:
    break  # <- refused
    data["x"] = 1
    return 1
