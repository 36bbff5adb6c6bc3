"""Attack: store a 5000-deep list in a map; expected: refused at run time, the value is not a contract value."""
# expect: runtime
from contract import Map

data = Map("data")


def attack() -> None:
    x = [0]
    for i in range(5000):
        x = [x]
    data["deep"] = x
