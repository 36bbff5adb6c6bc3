"""Smart contracts: a restricted Python dialect, compiled to a readable IR, run by a metered deterministic VM.

Public names: compile_source, load_program, execute, Program, Outcome,
Environment, Host, Limits, Sandbox and the errors. The dialect, the IR and the
gas schedule are specified in docs/contracts.md.
"""
from __future__ import annotations

from chain.contracts.compiler import compile_source
from chain.contracts.errors import (
    CompileError,
    ContractError,
    ContractFailure,
    ContractRuntimeError,
    HostError,
    IRError,
    LimitExceeded,
    ValueEncodingError,
)
from chain.contracts.host import Environment, Host
from chain.contracts.limits import DEFAULT_LIMITS, Limits
from chain.contracts.values import decode_value, encode_args, encode_value
from chain.contracts.vm.execute import Outcome, execute
from chain.contracts.vm.program import Program, load_program

__all__ = [
    "DEFAULT_LIMITS", "CompileError", "ContractError", "ContractFailure", "ContractRuntimeError", "Environment",
    "Host", "HostError", "IRError", "LimitExceeded", "Limits", "Outcome", "Program", "ValueEncodingError",
    "compile_source", "decode_value", "encode_args", "encode_value", "execute", "load_program",
]
