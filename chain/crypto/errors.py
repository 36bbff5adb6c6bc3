"""Exception hierarchy of chain.crypto; every error carries a stable code."""
from __future__ import annotations


class CryptoError(Exception):
    """Base of all crypto errors; `code` is stable and reaches API clients."""

    code = "crypto_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UnknownAlgorithmError(CryptoError):
    """An algorithm code or name that this build does not know."""

    code = "unknown_algorithm"


class InvalidKeyError(CryptoError):
    """Key bytes that are malformed, off the curve or out of range."""

    code = "invalid_key"


class InvalidSignatureEncodingError(CryptoError):
    """Signature bytes that are not a well-formed encoding."""

    code = "invalid_signature_encoding"


class InvalidDigestError(CryptoError):
    """Hash digest bytes that are malformed."""

    code = "invalid_digest"


class InvalidAddressError(CryptoError):
    """An address whose text or bytes do not decode."""

    code = "invalid_address"


class DecryptionError(CryptoError):
    """Ciphertext that fails authentication or is malformed."""

    code = "decryption_failed"


class SuiteMismatchError(CryptoError):
    """An object whose algorithm does not belong to the expected suite."""

    code = "suite_mismatch"
