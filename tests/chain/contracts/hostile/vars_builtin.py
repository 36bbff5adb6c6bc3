"""Attack: inspect a namespace with vars(); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return len(vars())  # <- refused
