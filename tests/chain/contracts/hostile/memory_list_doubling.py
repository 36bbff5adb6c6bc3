"""Attack: double a list in a loop (`items = items + items`); expected: stopped by the size limit."""
# expect: limit:memory


def attack() -> int:
    items = [0]
    while True:
        items = items + items
