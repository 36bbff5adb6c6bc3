"""The one error this package raises for bad EPCIS input, naming where in the input it is."""
from __future__ import annotations


class EpcisError(ValueError):
    """Malformed EPCIS input; `field` is a JSON-pointer-like path such as "epcisBody.eventList[3].eventTime"."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


def join(path: str, key: str | int) -> str:
    """The path of a member (key) or an element (index) below `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key
