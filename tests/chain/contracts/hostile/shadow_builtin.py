"""Attack: rebind a builtin name (`len = ...`) to change what other code calls; expected: refused at compile time."""
# expect: compile


def attack() -> int:  # <- refused
    len = 5
    return len
