"""SDK errors: what the gateway refused (with its code and field) and proofs that did not check out."""
from __future__ import annotations


class SdkError(Exception):
    """Base of the SDK's errors."""


class ApiError(SdkError):
    """The gateway answered 4xx/5xx: `status`, stable `code`, `message` and the offending `field`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.code = code
        self.field = field


class ProofFailed(SdkError):
    """A proof, header or certificate did not verify against what the client trusts."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Unreachable(SdkError):
    """The gateway could not be reached (connection refused, timed out, reset)."""
