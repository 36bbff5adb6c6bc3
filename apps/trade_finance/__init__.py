"""Trade finance: receivables, consented history queries, no double financing (not built yet)."""
