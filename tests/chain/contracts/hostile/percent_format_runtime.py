"""Attack: `%` formatting with a huge width built at run time (`"%0999999999d" % 1`); expected: refused at run time."""
# expect: runtime


def attack() -> str:
    template = "%0" + "999999999" + "d"
    return template % 1
