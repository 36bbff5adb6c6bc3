"""Exception hierarchy of chain.storage; every error carries a stable code."""
from __future__ import annotations


class StorageError(Exception):
    """Base of all storage errors; `code` is stable and reaches operators and API clients."""

    code = "storage_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class StorageClosedError(StorageError):
    """An operation on a store, snapshot or write batch that is already closed."""

    code = "storage_closed"


class StorageArgumentError(StorageError):
    """A key, value, bound or object argument that the store refuses; `argument` names it."""

    code = "storage_invalid_argument"

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


class StoragePathError(StorageError):
    """A failure tied to one database directory; `path` names it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class StorageLockedError(StoragePathError):
    """The database directory is held by another process (or another handle in this one)."""

    code = "storage_locked"


class StorageCorruptError(StoragePathError):
    """The database files fail their checksums or do not parse."""

    code = "storage_corrupt"


class StorageNotFoundError(StoragePathError):
    """No database exists at the path and creating one was not requested."""

    code = "storage_not_found"


class StorageIOError(StorageError):
    """The engine failed to read or write its files (disk full, permissions, I/O error)."""

    code = "storage_io_error"
