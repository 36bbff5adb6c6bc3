"""Attack: return a 100 kB string (receipts are bounded); expected: stopped by the output limit."""
# expect: limit:output


def attack() -> str:
    return "a" * 100000
