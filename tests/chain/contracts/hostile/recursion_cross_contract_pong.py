"""Attack: contract pong calls ping, which calls pong again, without bound; expected: stopped by the call depth limit."""
# expect: limit:depth
# name: pong
# peer: ping recursion_cross_contract_ping.py
from contract import call


def attack() -> int:
    return call("ping", "attack") + 1
