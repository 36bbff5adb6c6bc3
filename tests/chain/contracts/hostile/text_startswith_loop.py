"""Attack: `startswith` with an equal 1 MiB prefix in a loop; expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    a = "a" * 1048576
    b = "a" * 1048576
    n = 0
    while True:
        if a.startswith(b):
            n += 1
