"""Attack: `[big] * 65536` then `.count(equal_copy)` compares 65536 MiB-long strings byte by byte; expected: paid per byte, stopped by gas."""
# expect: limit:gas


def attack() -> int:
    big = "a" * 1048576
    copy = "a" * 1048576
    rows = [big] * 65536
    total = 0
    while True:
        total += rows.count(copy)
