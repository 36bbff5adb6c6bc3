"""Canonical encoding of everything that is hashed or signed: deterministic CBOR (RFC 8949 section 4.2.1).

``encode`` turns a small data model (ints in the 64-bit CBOR range, bytes, text,
arrays, maps keyed by int/text/bytes, booleans, null) into the one byte string
every implementation must produce; ``decode`` accepts only such byte strings.
``to_cbor``/``from_cbor`` give frozen dataclasses an array-shaped encoding.
The rules, limits, error codes and test vectors are specified in docs/encoding.md.
"""

from __future__ import annotations

from chain.codec.decoder import decode
from chain.codec.encoder import encode
from chain.codec.errors import CodecError, DecodeError, EncodeError, ErrorCode
from chain.codec.model import Value
from chain.codec.schema import from_cbor, to_cbor

__all__ = [
    "CodecError",
    "DecodeError",
    "EncodeError",
    "ErrorCode",
    "Value",
    "decode",
    "encode",
    "from_cbor",
    "to_cbor",
]
