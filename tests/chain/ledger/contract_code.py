"""Small contracts for ledger tests, compiled once."""
from __future__ import annotations

from chain.contracts import compile_source
from chain.ledger.model import ContractPolicy

COUNTER_SOURCE = '''
from contract import Map, caller, emit, event, fail, read_data, require, write_data

counts = Map("counts", default=0)
Bumped = event("who", "total")


def bump(by: int) -> int:
    require(by > 0, "by must be positive")
    total = counts[caller()] + by
    counts[caller()] = total
    emit(Bumped, who=caller(), total=total)
    if total > 100:
        fail("too many")
    return total


def get(who: str) -> int:
    return counts[who]


def note(key: str, value: bytes) -> None:
    write_data("notes", key, value)


def peek(key: str) -> bytes:
    return read_data("notes", key)
'''

COUNTER = compile_source(COUNTER_SOURCE, "counter.py").encode()
COUNTER_V2 = compile_source(COUNTER_SOURCE + '''

def version() -> int:
    return 2
''', "counter.py").encode()

ORG1_ONLY = ContractPolicy(1, ("org1",))
