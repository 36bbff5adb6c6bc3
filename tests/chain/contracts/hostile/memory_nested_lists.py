"""Attack: many lists just under the per-list limit, kept alive together; expected: stopped by the invocation's memory limit."""
# expect: limit:memory


def attack() -> int:
    keep = [[0] * 60000 for i in range(1000)]
    return len(keep)
