"""Attack: `from os import system`; expected: refused at compile time."""
# expect: compile
from os import system  # <- refused


def attack() -> int:
    return system("true")
