"""Attack: `"a" * 10**9` builds a gigabyte string; expected: refused by the size limit before it is built."""
# expect: limit:memory


def attack() -> int:
    return len("a" * 10**9)
