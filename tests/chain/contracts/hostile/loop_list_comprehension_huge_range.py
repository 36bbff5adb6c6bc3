"""Attack: a list comprehension over `range(10**18)` with a filter that keeps nothing; expected: stopped by the gas limit."""
# expect: limit:gas


def attack() -> int:
    return len([i for i in range(10**18) if i < 0])
