"""Attack: `id([])` is a memory address, different on every node; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return id([])  # <- refused
