"""Consensus engines behind one interface: solo (single validator) now, BFT next."""
