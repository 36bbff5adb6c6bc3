"""Attack: grow a string through f-strings in a loop (`text = f"{text}{text}"`); expected: stopped by the size limit."""
# expect: limit:memory


def attack() -> int:
    text = "a"
    while True:
        text = f"{text}{text}"
