"""Attack: `.upper()` of a ligature (one character becomes three) triples a maximal string; expected: refused by the size limit."""
# expect: limit:memory


def attack() -> int:
    text = "\ufb03" * 1000000
    return len(text.upper())
