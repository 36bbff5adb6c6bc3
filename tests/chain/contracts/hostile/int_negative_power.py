"""Attack: `2 ** -1` would produce a float; expected: refused at run time."""
# expect: runtime


def attack() -> int:
    exponent = -1
    return 2 ** exponent
