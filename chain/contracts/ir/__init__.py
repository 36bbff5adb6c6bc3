"""The contract instruction set: a readable S-expression IR (docs/contracts.md, "Intermediate language")."""
from __future__ import annotations

from chain.contracts.ir.sexpr import Line, Local, Sym, dump, parse

__all__ = ["Line", "Local", "Sym", "dump", "parse"]
