"""Attack: emit an event whose field is an aliased 2**32-item list; expected: refused by the event size limit without encoding."""
# expect: limit:output
from contract import emit, event

Big = event("payload")


def attack() -> None:
    row = [0] * 65536
    emit(Big, payload=[row] * 65536)
