"""Attack: a dunder parameter name (`__class__`) to confuse name resolution; expected: refused at compile time."""
# expect: compile


def attack(__class__: int) -> int:  # <- refused
    return 0
