"""Attack: f-string `!r` conversion calls repr() on any value; expected: refused at compile time."""
# expect: compile


def attack() -> str:
    items = [1]
    return f"{items!r}"  # <- refused
