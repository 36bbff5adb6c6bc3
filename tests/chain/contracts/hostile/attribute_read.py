"""Attack: read a plain attribute of a value (`text.upper` without calling it) to get a bound method; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    method = "abc".upper  # <- refused
    return 0
