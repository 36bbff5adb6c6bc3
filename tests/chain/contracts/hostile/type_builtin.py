"""Attack: call type() to obtain a class object (and build new classes); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    kind = type(1)  # <- refused
    return 0
