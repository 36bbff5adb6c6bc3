"""Why a consensus message was refused."""
from __future__ import annotations


class ConsensusError(Exception):
    """A message or certificate that the protocol refuses; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code


class MalformedMessage(ConsensusError):
    """Bytes that are not a canonical consensus message."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed", message)


class InvalidCertificate(ConsensusError):
    """A quorum or timeout certificate that does not prove what it claims."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_certificate", message)


class InvalidMessage(ConsensusError):
    """A well-formed message that breaks a protocol rule (bad signature, wrong author, bad link)."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_message", message)
