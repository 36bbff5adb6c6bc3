"""Attack: f-string format spec `{x:>1000000000}` pads to a gigabyte; expected: refused at compile time."""
# expect: compile


def attack() -> str:
    x = 1
    return f"{x:>1000000000}"  # <- refused
