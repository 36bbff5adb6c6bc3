"""Attack: `**kwargs` parameters; expected: refused at compile time."""
# expect: compile


def attack(**options) -> int:  # <- refused
    return 0
