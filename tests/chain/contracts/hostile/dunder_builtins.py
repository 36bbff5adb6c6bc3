"""Attack: index `__builtins__` to fetch eval; expected: refused at compile time (dunder name)."""
# expect: compile


def attack() -> int:
    evaluate = __builtins__["eval"]  # <- refused
    return 0
