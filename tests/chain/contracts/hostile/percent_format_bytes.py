"""Attack: bytes `%` formatting (`b"%s" % b"x"`); expected: refused at run time."""
# expect: runtime


def attack() -> bytes:
    template = b"%s"
    return template % b"x"
