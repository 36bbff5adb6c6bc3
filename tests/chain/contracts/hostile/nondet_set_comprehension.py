"""Attack: a set comprehension (hash-ordered iteration); expected: refused at compile time."""
# expect: compile


def attack() -> int:
    seen = {c for c in "hello"}  # <- refused
    return len(seen)
