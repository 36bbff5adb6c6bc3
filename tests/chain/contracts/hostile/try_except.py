"""Attack: catch the VM's own limit errors with try/except to keep running; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    try:  # <- refused
        return 1 // 0
    except Exception:
        return 0
