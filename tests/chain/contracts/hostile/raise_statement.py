"""Attack: raise an arbitrary exception object; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    raise ValueError("x")  # <- refused
