"""The traceability application's errors: each names the offending field and the HTTP status it maps to."""
from __future__ import annotations


class TraceError(Exception):
    """A request the traceability application refuses: `field` says which input, `status` the HTTP status."""

    def __init__(self, message: str, field: str = "request", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def to_json(self) -> dict[str, str]:
        """The JSON body of the error response."""
        return {"error": self.message, "field": self.field}
