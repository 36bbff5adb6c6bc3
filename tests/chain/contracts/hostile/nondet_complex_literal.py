"""Attack: a complex literal (`1j`); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    z = 2j  # <- refused
    return 0
