"""Attack: use a list as a dict key; expected: a runtime error in the outcome."""
# expect: runtime


def attack() -> int:
    table = {}
    table[[1]] = 2
    return 0
