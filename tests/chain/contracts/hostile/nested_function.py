"""Attack: a nested function (closure over the frame); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    def inner() -> int:  # <- refused
        return 1
    return 0
