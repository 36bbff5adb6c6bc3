"""Attack: true division `/` produces floats; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    a = 7
    return a / 2  # <- refused
