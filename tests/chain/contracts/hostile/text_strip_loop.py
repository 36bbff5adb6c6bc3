"""Attack: strip a 1 MiB string of spaces in a loop (each call scans it all); expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    blank = " " * 1048576
    n = 0
    while True:
        n += len(blank.strip())
