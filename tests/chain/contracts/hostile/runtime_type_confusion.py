"""Attack: add a string to an integer to probe the VM's error mapping; expected: a runtime error in the outcome."""
# expect: runtime


def attack() -> int:
    text = "a"
    return text + 1
