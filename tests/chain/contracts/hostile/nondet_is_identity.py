"""Attack: `a is b` on values (identity depends on caching and interning); expected: refused at compile time."""
# expect: compile


def attack() -> bool:
    a = 1000
    b = 1000
    return a is b  # <- refused
