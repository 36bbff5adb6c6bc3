"""Attack: reach a value's class through `__class__` to climb to object; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    items = []
    kind = items.__class__  # <- refused
    return 0
