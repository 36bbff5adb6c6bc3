"""Attack: `pop(0)` and `append` on a 65536-item list in a loop (each pop moves every item); expected: paid per item, stopped by gas quickly."""
# expect: limit:gas


def attack() -> int:
    items = [0] * 65535
    while True:
        items.append(items.pop(0))
