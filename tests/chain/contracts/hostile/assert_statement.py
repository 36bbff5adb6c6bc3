"""Attack: assert (stripped under -O, so nodes could disagree); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    assert 1 == 2  # <- refused
    return 0
