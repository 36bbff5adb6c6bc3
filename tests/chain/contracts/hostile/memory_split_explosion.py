"""Attack: split a maximal string into a million one-character parts; expected: stopped by the list size limit."""
# expect: limit:memory


def attack() -> int:
    text = "a," * 500000
    return len(text.split(","))
