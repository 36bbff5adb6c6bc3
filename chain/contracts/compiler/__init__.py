"""Compile contract source (the restricted Python dialect) to canonical IR text."""
from __future__ import annotations

from chain.contracts.compiler.frontend import compile_source, compile_tree

__all__ = ["compile_source", "compile_tree"]
