"""The bridge's refusal reasons and the one error that carries them.

A reason code is a short stable string: it is the `reason` of an intake
verdict, the last segment of the dead-letter topic a refused message is
republished on, and a label of the refusal metrics. Never rename one.
"""
from __future__ import annotations

MALFORMED = "malformed"                # not a well-formed COSE_Sign1 device message (the field says where)
BAD_SIGNATURE = "bad_signature"        # the signature does not verify with the device's registered key
UNKNOWN_DEVICE = "unknown_device"      # no registered device has this address
SUSPENDED_DEVICE = "suspended_device"  # the device is frozen on chain (may be unfrozen later)
REVOKED_DEVICE = "revoked_device"      # the device is revoked on chain (for good), or its certificate is
WRONG_TOPIC = "wrong_topic"            # topic shape, organisation or device differs from the message's signer
REPLAY = "replay"                      # a sequence number already used (other content) or below the highest accepted
INVALID_EVENT = "invalid_event"        # the EPCIS event (or reading) is structurally invalid for the chain mapping
CHAIN_REFUSED = "chain_refused"        # the contract refused the event (recorded with the chain's message)

REASONS: tuple[str, ...] = (MALFORMED, BAD_SIGNATURE, UNKNOWN_DEVICE, SUSPENDED_DEVICE, REVOKED_DEVICE, WRONG_TOPIC,
                            REPLAY, INVALID_EVENT, CHAIN_REFUSED)


class BridgeError(Exception):
    """A refusal: `code` is one of REASONS, `field` names the offending part ("payload.seq", "topic", ...)."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{code}: {message}" + (f" (field {field})" if field else ""))
        self.code = code
        self.field = field
        self.message = message


class RegistryUnavailable(Exception):
    """The device registry cannot answer (the chain is unreachable and the cache is too old or empty).

    Not a refusal: the intake raises it so nothing is acknowledged, and the broker redelivers later."""
