"""Attack: look up a 1 MiB string key through an equal but distinct string in a loop (each lookup compares all bytes); expected: paid per byte, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    table = {"a" * 1048576: 1}
    probe = "a" * 1048576
    n = 0
    while True:
        n += table[probe]
