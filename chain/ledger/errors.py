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
    POLICY_NOT_MET = 12
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


class SyncProblem(enum.Enum):
    """Why a block or snapshot from a peer was refused (state sync); the value is the stable API code."""

    MALFORMED = "malformed"
    NOT_NEXT = "not_next"
    WRONG_LEDGER = "wrong_ledger"
    WRONG_PREVIOUS_HASH = "wrong_previous_hash"
    UNKNOWN_VALIDATORS = "unknown_validators"
    BAD_CERTIFICATE = "bad_certificate"
    REPLAY_MISMATCH = "replay_mismatch"
    BAD_MANIFEST = "bad_manifest"
    STORE_NOT_EMPTY = "store_not_empty"
    UNKNOWN_CHUNK = "unknown_chunk"
    DUPLICATE_CHUNK = "duplicate_chunk"
    OUT_OF_ORDER_CHUNK = "out_of_order_chunk"
    BAD_CHUNK = "bad_chunk"
    MISSING_CHUNKS = "missing_chunks"
    MISSING_RECENT_BLOCKS = "missing_recent_blocks"
    STATE_ROOT_MISMATCH = "state_root_mismatch"
    IMPORT_CLOSED = "import_closed"


class SyncError(LedgerError):
    """Data from an untrusted peer (a block, a snapshot manifest or chunk) that must not be applied."""

    result = ResultCode.INVALID_STATE

    def __init__(self, message: str, problem: SyncProblem, height: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.height = height

    @property
    def code(self) -> str:
        """The sync problem's stable code (e.g. `bad_certificate`), more precise than the result code."""
        return self.problem.value


class Pruned(LedgerError):
    """Asked for blocks or state before the snapshot a store was restored from: this store never had them."""

    result = ResultCode.NOT_FOUND

    @property
    def code(self) -> str:
        """Always `pruned`."""
        return "pruned"
