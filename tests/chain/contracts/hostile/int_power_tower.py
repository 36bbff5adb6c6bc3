"""Attack: `2 ** 10 ** 9`, a billion-bit integer; expected: refused by the integer limit before it is computed."""
# expect: limit:integer


def attack() -> int:
    return 2 ** 10 ** 9
