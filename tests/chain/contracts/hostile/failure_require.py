"""Attack: a contract that refuses with require() after writing state (its writes must be rolled back); expected: a contract failure."""
# expect: failure
from contract import Map, require

data = Map("data")


def attack() -> None:
    data["written"] = 1
    require(False, "refused on purpose")
