"""Attack: compare two distinct, equal 1 MiB strings in a loop (each `==` is a full memcmp); expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    a = "a" * 1048576
    b = "a" * 1048576
    n = 0
    while True:
        if a == b:
            n += 1
