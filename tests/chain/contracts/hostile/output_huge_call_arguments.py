"""Attack: pass 100 kB of arguments to another contract; expected: stopped by the output limit."""
# expect: limit:output
# name: hostile
from contract import call


def attack() -> int:
    return call("hostile", "sink", "a" * 100000)


def sink(text: str) -> int:
    return len(text)
