"""Attack: a dict comprehension over `range(10**18)`; expected: stopped by the dict size limit."""
# expect: limit:memory


def attack() -> int:
    return len({i: i for i in range(10**18)})
