"""Attack: `while True: pass` never ends; expected: stopped by the gas limit."""
# expect: limit:gas


def attack() -> int:
    while True:
        pass
