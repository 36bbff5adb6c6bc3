"""Attack: `yield from` delegating to another iterator; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    yield from [1, 2]  # <- refused
