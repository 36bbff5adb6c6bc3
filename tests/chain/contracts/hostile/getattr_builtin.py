"""Attack: fetch an attribute by computed name with getattr(); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    method = getattr([], "append")  # <- refused
    return 0
