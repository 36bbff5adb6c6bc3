"""Attack: a module-level list as hidden mutable state shared by invocations; expected: refused at compile time."""
# expect: compile
CACHE = []  # <- refused


def attack() -> int:
    return 0
