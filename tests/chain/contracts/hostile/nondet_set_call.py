"""Attack: `set(...)` built by call; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return len(set("hello"))  # <- refused
