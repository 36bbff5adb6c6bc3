"""Traceability: one-item-one-code QR identifiers and EPCIS events (not built yet; see the issues)."""
