"""Attack: index a dict with a missing key; expected: a runtime error in the outcome."""
# expect: runtime


def attack() -> int:
    table = {}
    return table["missing"]
