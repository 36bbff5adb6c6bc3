"""Attack: emit events in a loop until the block's event log is flooded; expected: stopped by the event size limit."""
# expect: limit:output
from contract import emit, event

Note = event("text")


def attack() -> None:
    while True:
        emit(Note, text="a" * 1000)
