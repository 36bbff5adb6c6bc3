"""Attack: iterate `range(10**18)`; expected: stopped by the gas limit."""
# expect: limit:gas


def attack() -> int:
    total = 0
    for i in range(10**18):
        total += 1
    return total
