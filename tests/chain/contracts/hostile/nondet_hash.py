"""Attack: `hash("x")` differs per process (hash randomisation); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return hash("x")  # <- refused
