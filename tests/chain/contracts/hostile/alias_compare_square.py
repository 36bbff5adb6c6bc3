"""Attack: compare two 2**32-item aliased lists (`grid == other`); expected: the walk before the comparison is paid, stopped by gas."""
# expect: limit:gas


def attack() -> bool:
    row = [0] * 65536
    grid = [row] * 65536
    other = [row] * 65536
    return grid == other
