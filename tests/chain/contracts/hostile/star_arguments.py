"""Attack: `*args` unpacking in a call; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    args = [1, 2]
    return max(*args)  # <- refused
