"""Gateway errors: each becomes an HTTP status and a JSON body {"error": {"code", "message", "field"}}."""
from __future__ import annotations


class ApiError(Exception):
    """A request the gateway answers with a 4xx/5xx: a stable code, a message and the offending field, if any."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, object]:
        """The JSON error body."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


def bad_request(message: str, field: str | None = None, code: str = "invalid_argument") -> ApiError:
    """400: the request is malformed; `field` names what was wrong."""
    return ApiError(400, code, message, field)


def not_found(message: str, field: str | None = None) -> ApiError:
    """404: the named thing does not exist."""
    return ApiError(404, "not_found", message, field)


def unauthorized(message: str) -> ApiError:
    """401: missing or invalid credentials."""
    return ApiError(401, "unauthorized", message, "Authorization")


def forbidden(message: str, field: str | None = None) -> ApiError:
    """403: authenticated, but the ledger's permissions do not allow it."""
    return ApiError(403, "forbidden", message, field)


def unavailable(message: str) -> ApiError:
    """503: no node answered."""
    return ApiError(503, "node_unavailable", message)
