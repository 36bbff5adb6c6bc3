"""Attack: `global` to keep mutable state between invocations outside storage; expected: refused at compile time."""
# expect: compile
COUNTER = 0


def attack() -> int:
    global COUNTER  # <- refused
    COUNTER = COUNTER + 1
    return COUNTER
