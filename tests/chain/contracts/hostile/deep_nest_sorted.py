"""Attack: sort a list of two 5000-deep lists (the comparisons recurse); expected: stopped by the nesting limit."""
# expect: limit:memory


def attack() -> int:
    x = [0]
    for i in range(5000):
        x = [x]
    return len(sorted([x, [x]]))
