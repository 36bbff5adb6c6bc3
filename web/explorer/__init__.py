"""The chain explorer: blocks, transactions, data accounts, validators, events, search and proofs, read through the SDK."""
from __future__ import annotations

from web.explorer import proofs, search, stream, views  # noqa: F401  (they register their routes on the blueprint)
from web.explorer.blueprint import blueprint

__all__ = ["blueprint"]
