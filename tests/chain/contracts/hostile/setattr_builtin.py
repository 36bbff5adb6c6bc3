"""Attack: patch an object with setattr(); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    setattr([], "x", 1)  # <- refused
    return 0
