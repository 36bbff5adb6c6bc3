"""Attack: a tuple doubled thirty times (`t = (t, t)`) used as a dict key makes the host hash 2**30 leaves; expected: stopped by gas."""
# expect: limit:gas


def attack() -> int:
    t = (1,)
    for i in range(30):
        t = (t, t)
    table = {t: 1}
    return len(table)
