"""Attack: `nonlocal` to rebind an enclosing variable; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    nonlocal total  # <- refused
    return 0
