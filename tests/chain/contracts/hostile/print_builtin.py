"""Attack: print() writes to the node's stdout; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    print("hello")  # <- refused
    return 0
