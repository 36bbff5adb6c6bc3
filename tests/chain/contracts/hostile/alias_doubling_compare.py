"""Attack: `a = [a, a]` thirty times makes a 2**30-leaf tree from 90 allocated units, then compares it; expected: stopped by gas."""
# expect: limit:gas


def attack() -> bool:
    a = [1]
    b = [1]
    for i in range(30):
        a = [a, a]
        b = [b, b]
    return a == b
