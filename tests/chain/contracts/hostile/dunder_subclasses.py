"""Attack: enumerate every loaded class with `().__class__.__bases__[0].__subclasses__()`; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    found = ().__class__.__bases__[0].__subclasses__()  # <- refused
    return len(found)
