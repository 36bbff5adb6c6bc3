"""Python SDK: `Client` builds, signs, submits and waits, reads with locally checked proofs, and subscribes to events.

Applications reach the chain only through these names (and chain.sdk.operations, chain.sdk.onboarding).
"""
from __future__ import annotations

from chain.contracts import compile_source as compile_contract
from chain.contracts import decode_value, encode_args, encode_value
from chain.crypto.keys import PrivateKey
from chain.crypto.keystore import load_key, save_key
from chain.sdk.client import Client, Entry, ProofReport
from chain.sdk.errors import ApiError, ProofFailed, SdkError, Unreachable

__all__ = [
    "ApiError", "Client", "Entry", "PrivateKey", "ProofFailed", "ProofReport", "SdkError", "Unreachable",
    "compile_contract", "decode_value", "encode_args", "encode_value", "load_key", "save_key",
]
