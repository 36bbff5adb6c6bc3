"""Attack: `table[items.pop()] += 1` evaluates the key twice (two pops) in a naive translation; expected: refused at compile time."""
# expect: compile


def attack() -> list:
    items = [1, 2]
    table = {1: 0, 2: 0}
    table[items.pop()] += 1  # <- refused
    return items
