"""Attack: `~x` of the largest allowed integer yields one bit more than the limit; expected: stopped by the integer limit."""
# expect: limit:integer


def attack() -> int:
    largest = (2**1023 - 1) * 2 + 1
    return ~largest
