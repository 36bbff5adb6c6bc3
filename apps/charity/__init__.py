"""Charity tracing: fund conservation and the donor journey (not built yet)."""
