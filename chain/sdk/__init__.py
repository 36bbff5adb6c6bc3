"""Python SDK: `Client` builds, signs, submits and waits, reads with locally checked proofs, and subscribes to events.

Applications reach the chain only through these names.
"""
from __future__ import annotations

from chain.sdk.client import Client, Entry, ProofReport
from chain.sdk.errors import ApiError, ProofFailed, SdkError, Unreachable

__all__ = ["ApiError", "Client", "Entry", "ProofFailed", "ProofReport", "SdkError", "Unreachable"]
