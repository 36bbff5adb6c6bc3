"""Attack: `[0] * 10**9` builds a billion-item list; expected: refused by the size limit before it is built."""
# expect: limit:memory


def attack() -> int:
    return len([0] * 10**9)
