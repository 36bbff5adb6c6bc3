"""Attack: input() blocks the node waiting on stdin; expected: refused at compile time."""
# expect: compile


def attack() -> str:
    return input()  # <- refused
