"""Attack: integer division by zero to crash the VM; expected: a runtime error in the outcome."""
# expect: runtime


def attack() -> int:
    zero = 0
    return 1 // zero
