"""Attack: a match statement (class patterns call __match_args__); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    match 1:  # <- refused
        case _:
            return 0
