"""Attack: a tuple nested 5000 deep used as a dict key (the host's hash recurses); expected: stopped by the nesting limit."""
# expect: limit:memory


def attack() -> int:
    key = (0,)
    for i in range(5000):
        key = (key,)
    table = {key: 1}
    return len(table)
