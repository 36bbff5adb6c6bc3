"""Attack: multiply up a factorial over `range(1, 10**6)`; expected: stopped by the integer limit."""
# expect: limit:integer


def attack() -> int:
    x = 1
    for i in range(1, 10**6):
        x *= i
    return x
