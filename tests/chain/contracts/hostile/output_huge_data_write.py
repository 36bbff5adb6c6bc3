"""Attack: write a 100 kB value to a data account; expected: stopped by the stored-value limit."""
# expect: limit:output
from contract import write_data


def attack() -> None:
    write_data("ledger-data", "big", b"a" * 100000)
