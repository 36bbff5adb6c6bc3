"""Attack: augmented true division `x /= 2` produces floats; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    x = 7
    x /= 2  # <- refused
    return 0
