"""Attack: return `[x] * 65536` where x is a 65536-item list: 131074 units allocated, 2**32 items to encode; expected: refused by the output limit without encoding."""
# expect: limit:output


def attack() -> list:
    row = [0] * 65536
    return [row] * 65536
