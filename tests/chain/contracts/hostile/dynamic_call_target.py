"""Attack: call a contract whose name is computed at run time (undeclared in the header); expected: refused at compile time."""
# expect: compile
from contract import call


def attack(target: str) -> int:
    return call(target, "attack")  # <- refused
