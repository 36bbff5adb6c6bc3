"""Consortium chain: codec, crypto suites, consortium CA, and (as they land) ledger, consensus, node, gateway, SDK."""
