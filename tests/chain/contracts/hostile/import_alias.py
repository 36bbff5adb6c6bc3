"""Attack: import an API name under an alias to dodge name checks; expected: refused at compile time."""
# expect: compile
from contract import caller as whoami  # <- refused


def attack() -> str:
    return whoami()
