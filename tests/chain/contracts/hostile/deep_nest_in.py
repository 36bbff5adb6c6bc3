"""Attack: `x in [y]` with 5000-deep values (membership compares recursively); expected: stopped by the nesting limit."""
# expect: limit:memory


def attack() -> bool:
    x = [0]
    y = [0]
    for i in range(5000):
        x = [x]
        y = [y]
    return x in [y]
