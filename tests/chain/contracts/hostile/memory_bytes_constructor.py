"""Attack: `bytes(10**9)` allocates a gigabyte of zeros; expected: refused at run time (bytes() of an int is not allowed)."""
# expect: runtime


def attack() -> int:
    return len(bytes(10**9))
