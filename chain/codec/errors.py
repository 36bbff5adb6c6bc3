"""Errors raised by the canonical codec, each carrying a stable machine-readable code.

The codes are part of the published specification (docs/encoding.md): another
implementation reports the same code for the same invalid vector, so tests and
clients can branch on ``error.code`` instead of parsing messages. Messages are
for humans: encoder errors start with the path of the offending element
(``$.ops[2].value: float not allowed``), decoder errors with the byte offset.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes; compare equal to their string values."""

    NON_CANONICAL = "non_canonical"
    TRAILING_BYTES = "trailing_bytes"
    TRUNCATED = "truncated"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    UNSUPPORTED_TYPE = "unsupported_type"
    MALFORMED = "malformed"
    DUPLICATE_KEY = "duplicate_key"
    UNSORTED_KEYS = "unsorted_keys"
    INVALID_UTF8 = "invalid_utf8"
    SCHEMA_MISMATCH = "schema_mismatch"


class CodecError(ValueError):
    """Base class: a value cannot be encoded or bytes cannot be decoded canonically."""

    code: ErrorCode
    path: str | None
    offset: int | None
    detail: str

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        path: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.code = code
        self.detail = detail
        self.path = path
        self.offset = offset
        super().__init__(self._render())

    def __reduce__(self) -> tuple[type[CodecError], tuple[ErrorCode, str], dict[str, object]]:
        """Pickle by constructor arguments (errors cross process pools intact)."""
        return (type(self), (self.code, self.detail), {"path": self.path, "offset": self.offset})

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        """Restore path/offset after unpickling and re-render the message."""
        self.__dict__.update(state or {})
        self.args = (self._render(),)

    def _render(self) -> str:
        """Build the human-readable message from path/offset and detail."""
        if self.path is not None:
            return f"{self.path}: {self.detail}"
        if self.offset is not None:
            return f"offset {self.offset}: {self.detail}"
        return self.detail


class EncodeError(CodecError):
    """A Python value is outside the data model or beyond a limit."""


class DecodeError(CodecError):
    """Bytes are not the deterministic encoding of an allowed value."""


def abbreviate(value: object, limit: int = 40) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for messages about untrusted data."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
