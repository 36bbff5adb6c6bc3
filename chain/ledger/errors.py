"""Stable result codes and the ledger's exception hierarchy."""
from __future__ import annotations

import enum


class ResultCode(enum.IntEnum):
    """Outcome of a transaction. Codes below 100 are recorded in a block; 100 and above are rejections.

    A rejected transaction never enters a block; the submitter is told the code and reason.
    A failed transaction (1..99) is in the block with its error, and none of its writes.
    """

    SUCCESS = 0
    # -- execution failures: recorded, all writes rolled back
    VERSION_CONFLICT = 1
    NOT_FOUND = 2
    ALREADY_EXISTS = 3
    INVALID_ARGUMENT = 4
    INVALID_STATE = 5
    SEQUENCE_CONFLICT = 6
    CERTIFICATE_INVALID = 7
    CONTRACT_ERROR = 8
    CONTRACT_ENGINE_UNAVAILABLE = 9
    LIMIT_EXCEEDED = 10
    INTERNAL_ERROR = 11
    # -- rejections: never in a block
    MALFORMED = 100
    TOO_LARGE = 101
    WRONG_LEDGER = 102
    BAD_SIGNATURE = 103
    UNKNOWN_SIGNER = 104
    SIGNER_NOT_ACTIVE = 105
    PERMISSION_DENIED = 106
    EXPIRED = 107
    DUPLICATE = 108
    MEMPOOL_FULL = 109

    @property
    def rejected(self) -> bool:
        """True for codes that keep a transaction out of the block."""
        return self.value >= 100


class LedgerError(Exception):
    """Base of ledger errors; `result` is the stable code a client sees."""

    result = ResultCode.INVALID_ARGUMENT

    def __init__(self, message: str, result: ResultCode | None = None) -> None:
        super().__init__(message)
        if result is not None:
            self.result = result

    @property
    def code(self) -> str:
        """Lower-case name of the result code, for APIs."""
        return self.result.name.lower()


class ExecutionFailure(LedgerError):
    """An operation failed: the transaction is recorded as failed and its writes discarded."""


class Rejection(LedgerError):
    """The transaction must not enter a block."""

    result = ResultCode.MALFORMED


class StoreCorruption(LedgerError):
    """Stored ledger data is inconsistent with its hashes."""

    result = ResultCode.INVALID_STATE
