"""Attack: a with-block to run __enter__/__exit__ hooks; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    with [] as items:  # <- refused
        return 0
