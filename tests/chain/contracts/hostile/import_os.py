"""Attack: `import os` to run commands on the node; expected: refused at compile time."""
# expect: compile
import os  # <- refused


def attack() -> int:
    return 0
