"""Attack: add keys to a dict while iterating over it; expected: a runtime error in the outcome."""
# expect: runtime


def attack() -> int:
    table = {0: 0}
    for key in table:
        table[key + 1] = 0
    return 0
