"""Attack: `yield` turns the function into a generator the VM cannot meter; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    yield 1  # <- refused
