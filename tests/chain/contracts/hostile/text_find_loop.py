"""Attack: search a 1 MiB string for a 1 MiB needle that almost matches, in a loop; expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    hay = "ab" * 524288
    needle = "ab" * 524287 + "ba"
    n = 0
    while True:
        if hay.find(needle) >= 0:
            n += 1
