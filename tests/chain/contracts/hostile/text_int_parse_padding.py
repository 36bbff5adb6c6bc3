"""Attack: `int()` of a 1 MiB string of spaces around one digit, in a loop (each call scans it twice); expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    padded = " " * 1048000 + "1"
    n = 0
    while True:
        n += int(padded)
