"""Attack: hide state in a dunder-named local (`__dict__ = ...`); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    __dict__ = {}  # <- refused
    return 0
