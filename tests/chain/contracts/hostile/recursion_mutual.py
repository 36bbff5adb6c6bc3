"""Attack: two functions calling each other (`attack -> _pong -> attack`); expected: refused at compile time (recursion)."""
# expect: compile


def attack() -> int:
    return _pong()


def _pong() -> int:
    return attack()  # <- refused
