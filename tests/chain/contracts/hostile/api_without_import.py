"""Attack: call the ledger API (`caller()`) without importing it from contract; expected: refused at compile time."""
# expect: compile


def attack() -> str:
    return caller()  # <- refused
