"""Attack: a statement at module level that runs at load time; expected: refused at compile time."""
# expect: compile
for i in range(10):  # <- refused
    pass


def attack() -> int:
    return 0
