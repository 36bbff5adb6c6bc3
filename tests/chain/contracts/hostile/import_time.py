"""Attack: read the wall clock (`from time import time`), which differs per node; expected: refused at compile time."""
# expect: compile
from time import time  # <- refused


def attack() -> int:
    return time()
