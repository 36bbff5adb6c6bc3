"""Attack: iterate a set literal, whose order depends on string hashing; expected: refused at compile time."""
# expect: compile


def attack() -> list:
    return [x for x in {"a", "b", "c"}]  # <- refused
