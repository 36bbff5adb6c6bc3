"""Attack: read a data account whose name is computed at run time (undeclared in the header); expected: refused at compile time."""
# expect: compile
from contract import read_data


def attack(account: str) -> bytes:
    return read_data(account, "secret")  # <- refused
