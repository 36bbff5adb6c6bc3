"""Why the indexer refuses to go on: a fork, an inconsistent block, a database that is not its own."""
from __future__ import annotations


class IndexerError(Exception):
    """The read model cannot follow its source; `code` says why in a stable word.

    Codes: `fork` (a block does not extend the indexed chain), `bad_block` (a
    block's body does not match its header, or the source sent another height),
    `wrong_ledger` (the database already indexes another ledger), `conflict`
    (the checkpoint moved under this indexer: another one writes the same
    database), `inconsistent` (a block's effects contradict the indexed state).
    """

    def __init__(self, message: str, code: str = "indexer_error") -> None:
        super().__init__(message)
        self.code = code
