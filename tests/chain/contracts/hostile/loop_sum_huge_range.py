"""Attack: `sum(range(10**18))` does all its work inside one builtin call; expected: stopped by the gas limit before it starts."""
# expect: limit:gas


def attack() -> int:
    return sum(range(10**18))
