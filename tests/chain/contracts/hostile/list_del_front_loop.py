"""Attack: `del items[0]` and `append` on a 65536-item list in a loop (each delete moves every item); expected: paid per item, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    items = [0] * 65535
    while True:
        del items[0]
        items.append(0)
