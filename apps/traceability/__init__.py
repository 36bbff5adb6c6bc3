"""Traceability: one-item-one-code QR identifiers (GS1 Digital Link) and EPCIS events.

Built so far: GS1 identifiers (identifiers.py) and Digital Link URIs (digital_link.py). The contract, service,
read model, labels and pages follow (issue 7).
"""
