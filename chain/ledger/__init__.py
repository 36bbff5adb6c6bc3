"""The ledger protocol: authenticated state, operations, transactions, blocks and proofs."""
