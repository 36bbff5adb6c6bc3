"""Attack: a mutable default argument shared between calls; expected: refused at compile time."""
# expect: compile


def attack(cache: list = []) -> int:  # <- refused
    return 0
