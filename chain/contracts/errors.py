"""One exception hierarchy for the contract toolchain and VM; each error has a stable code and, where known, a line."""
from __future__ import annotations


class ContractError(Exception):
    """Base: `code` is stable (it reaches receipts and the API); `line` is the source line, if known."""

    code = "contract_error"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class CompileError(ContractError):
    """The source is not in the contract dialect (the line and column name the offending construct)."""

    code = "compile_error"

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message, line)
        self.column = column

    def __str__(self) -> str:
        if self.line is not None and self.column is not None:
            return f"line {self.line}, column {self.column}: {self.message}"
        return super().__str__()


class IRError(ContractError):
    """Intermediate code that does not parse, is not canonical or breaks a structural rule."""

    code = "invalid_ir"


class ContractFailure(ContractError):
    """The contract refused: a failed require() or an explicit fail()."""

    code = "contract_failed"


class ContractRuntimeError(ContractError):
    """An operation the values do not allow (wrong types, division by zero, missing key, bad argument)."""

    code = "runtime_error"


class LimitExceeded(ContractError):
    """A resource limit stopped the contract: gas, memory, call depth, integer size or output size."""

    code = "limit_exceeded"

    def __init__(self, message: str, line: int | None = None, limit: str = "gas") -> None:
        super().__init__(message, line)
        self.limit = limit


class ValueEncodingError(ContractError):
    """Arguments, results or stored values that are not contract values or not canonically encoded."""

    code = "bad_value"


class HostError(ContractError):
    """The ledger refused a contract's request (permission, unknown or frozen contract, undeclared account)."""

    code = "host_refused"
