"""Attack: build `[x]` nested 5000 deep and compare two such values (the host's == recurses); expected: stopped by the nesting limit."""
# expect: limit:memory


def attack() -> bool:
    x = [0]
    y = [0]
    for i in range(5000):
        x = [x]
        y = [y]
    return x == y
