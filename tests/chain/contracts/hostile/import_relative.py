"""Attack: a relative import (`from .contract import caller`) to reach a sibling module; expected: refused at compile time."""
# expect: compile
from .contract import caller  # <- refused


def attack() -> str:
    return caller()
