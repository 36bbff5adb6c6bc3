"""Attack: read a node's files with open(); expected: refused at compile time."""
# expect: compile


def attack() -> str:
    return open("/etc/passwd")  # <- refused
