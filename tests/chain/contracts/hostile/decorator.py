"""Attack: a decorator runs arbitrary code at definition time; expected: refused at compile time."""
# expect: compile
from contract import require


@require
def attack() -> int:  # <- refused
    return 0
