"""Attack: write the module namespace through globals()[...]; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    table = globals()  # <- refused
    return 0
