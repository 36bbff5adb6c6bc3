"""Attack: a lambda (closures capture VM state); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    double = lambda x: x * 2  # <- refused
    return 0
