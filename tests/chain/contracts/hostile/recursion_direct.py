"""Attack: a function calling itself without bound; expected: refused at compile time (recursion)."""
# expect: compile


def attack() -> int:
    return attack() + 1  # <- refused
