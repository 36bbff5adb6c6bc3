"""Attack: `1 << 10**7`, a ten-million-bit integer; expected: refused by the integer limit before it is computed."""
# expect: limit:integer


def attack() -> int:
    return 1 << 10**7
