"""Attack: `isdigit()` of a 1 MiB string of digits in a loop; expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    digits = "7" * 1048576
    n = 0
    while True:
        if digits.isdigit():
            n += 1
