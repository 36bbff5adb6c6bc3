"""Attack: `"{0.__class__}".format(x)` reaches attributes inside a format field; expected: refused at compile time (no format method)."""
# expect: compile


def attack() -> str:
    return "{0.__class__}".format(1)  # <- refused
