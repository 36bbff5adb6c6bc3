"""Attack: square a number in a loop (`x = x * x`) doubling its size each turn; expected: stopped by the integer limit."""
# expect: limit:integer


def attack() -> int:
    x = 3
    while True:
        x = x * x
