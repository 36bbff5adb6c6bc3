"""Attack: `text.replace("a", "aaaaaaaaaa")` in a loop grows text tenfold per turn; expected: refused by the size limit before the big result is built."""
# expect: limit:memory


def attack() -> int:
    text = "a" * 1000
    while True:
        text = text.replace("a", "aaaaaaaaaa")
