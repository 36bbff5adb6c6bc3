"""Attack: append to a list while iterating over it, so the loop never runs out of items; expected: stopped by the list size limit."""
# expect: limit:memory


def attack() -> int:
    items = [0]
    for item in items:
        items.append(item)
    return len(items)
