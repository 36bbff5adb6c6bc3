"""Attack: call a dunder method directly (`"x".__len__()`), bypassing the method whitelist; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return "x".__len__()  # <- refused
