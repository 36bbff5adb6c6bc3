"""Attack: `int("9" * 5000)` parses a 5000-digit number (quadratic in CPython); expected: refused at run time."""
# expect: runtime


def attack() -> int:
    return int("9" * 5000)
