"""Attack: `sorted(range(10**18))` allocates and sorts inside one builtin call; expected: stopped by the list size limit before it starts."""
# expect: limit:memory


def attack() -> int:
    return len(sorted(range(10**18)))
