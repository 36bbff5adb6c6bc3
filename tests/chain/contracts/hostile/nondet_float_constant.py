"""Attack: a float hidden in a module-level constant; expected: refused at compile time."""
# expect: compile
RATE = 0.1  # <- refused


def attack() -> int:
    return 0
