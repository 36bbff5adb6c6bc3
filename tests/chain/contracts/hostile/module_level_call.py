"""Attack: a module-level constant computed by a call (runs at load time); expected: refused at compile time."""
# expect: compile
SIZE = len("abc")  # <- refused


def attack() -> int:
    return SIZE
