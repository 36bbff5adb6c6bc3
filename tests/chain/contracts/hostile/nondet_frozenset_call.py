"""Attack: `frozenset(...)` built by call; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return len(frozenset("hello"))  # <- refused
