"""Attack: the Ellipsis literal, a value outside the contract types; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    marker = ...  # <- refused
    return 0
