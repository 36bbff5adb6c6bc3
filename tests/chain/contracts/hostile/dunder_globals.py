"""Attack: read a function's `__globals__` to reach the VM's module; expected: refused at compile time."""
# expect: compile


def helper() -> int:
    return 1


def attack() -> int:
    return len(helper.__globals__)  # <- refused
