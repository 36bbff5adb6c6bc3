"""Attack: `"a" in range(10**18)` makes the host scan the whole range for a non-integer; expected: answered at once, the loop ends on gas."""
# expect: limit:gas


def attack() -> int:
    n = 0
    while "a" not in range(10**18):
        n += 1
    return n
