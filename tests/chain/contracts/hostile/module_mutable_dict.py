"""Attack: a module-level dict as hidden mutable state shared by invocations; expected: refused at compile time."""
# expect: compile
STATE = {"count": 0}  # <- refused


def attack() -> int:
    return 0
