"""Attack: `import random` for a per-node random draw; expected: refused at compile time."""
# expect: compile
import random  # <- refused


def attack() -> int:
    return random.randint(0, 10)
