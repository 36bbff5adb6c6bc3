"""Attack: starred assignment `first, *rest = items`; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    first, *rest = [1, 2, 3]  # <- refused
    return first
