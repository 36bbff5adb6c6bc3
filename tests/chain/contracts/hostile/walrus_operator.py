"""Attack: the `:=` operator binding inside an expression; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    return (x := 5)  # <- refused
