"""Deterministic execution of transactions over a state overlay."""
