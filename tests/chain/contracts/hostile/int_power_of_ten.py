"""Attack: `10 ** 10 ** 6`, a three-million-bit integer; expected: refused by the integer limit before it is computed."""
# expect: limit:integer


def attack() -> int:
    return 10 ** 10 ** 6
