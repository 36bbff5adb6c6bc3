"""Attack: a float literal (rounding may differ across platforms); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    rate = 1.5  # <- refused
    return 0
