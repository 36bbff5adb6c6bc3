"""Attack: call a method outside the whitelist (`"{}".format_map`); expected: refused at compile time."""
# expect: compile


def attack() -> str:
    return "{x}".format_map({"x": 1})  # <- refused
