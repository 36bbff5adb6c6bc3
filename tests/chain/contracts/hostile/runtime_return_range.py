"""Attack: return a range object, which is not a contract value; expected: a runtime error in the outcome."""
# expect: runtime


def attack():
    return range(10)
