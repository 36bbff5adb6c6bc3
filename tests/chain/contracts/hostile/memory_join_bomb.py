"""Attack: join 65536 copies of a 1 MiB string; expected: refused by the size limit before joining."""
# expect: limit:memory


def attack() -> int:
    big = "a" * 1048576
    return len("".join([big] * 65536))
