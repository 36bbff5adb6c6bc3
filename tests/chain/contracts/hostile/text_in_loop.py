"""Attack: `needle in hay` on 1 MiB strings in a loop; expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    hay = "ab" * 524288
    needle = "ab" * 524287 + "ba"
    n = 0
    while True:
        if needle in hay:
            n += 1
