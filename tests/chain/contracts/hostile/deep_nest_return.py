"""Attack: return a 5000-deep list (the encoder recurses); expected: refused at run time, the result is not a contract value."""
# expect: runtime


def attack() -> list:
    x = [0]
    for i in range(5000):
        x = [x]
    return x
