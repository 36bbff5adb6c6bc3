"""Attack: `len(range(10**30))` overflows the host's native length type; expected: stopped by the integer limit."""
# expect: limit:integer


def attack() -> int:
    return len(range(10**30))
