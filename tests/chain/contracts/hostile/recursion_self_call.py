"""Attack: a contract calling itself through call() (recursion the compiler cannot see); expected: stopped by the call depth limit."""
# expect: limit:depth
# name: hostile
from contract import call


def attack() -> int:
    return call("hostile", "attack") + 1
