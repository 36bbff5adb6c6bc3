"""Attack: define a class to get custom __eq__/__hash__ hooks; expected: refused at compile time."""
# expect: compile
class Evil:  # <- refused
    pass


def attack() -> int:
    return 0
