"""Attack: contract ping calls pong, which calls ping again, without bound; expected: stopped by the call depth limit."""
# expect: limit:depth
# name: ping
# peer: pong recursion_cross_contract_pong.py
from contract import call


def attack() -> int:
    return call("pong", "attack") + 1
