"""Attack: `float("nan")` built by call; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    x = float("nan")  # <- refused
    return 0
