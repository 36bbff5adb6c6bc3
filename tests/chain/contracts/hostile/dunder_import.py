"""Attack: call `__import__("os")` to load a module at run time; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    os = __import__("os")  # <- refused
    return 0
