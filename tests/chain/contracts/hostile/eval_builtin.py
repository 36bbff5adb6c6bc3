"""Attack: run text as code with eval(); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return eval("1 + 1")  # <- refused
