"""Benchmarks: each prints JSON lines {"bench", "metric", "value", ...}; run as python -m bench.<name>."""
