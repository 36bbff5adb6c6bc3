"""GS1 identifiers of things: GTIN (products), SGTIN (one item), lots, SSCC (cases, pallets), GLN (locations).

Rules from the GS1 General Specifications: numeric keys end with a mod-10 check
digit (weights 3 and 1 alternating from the right, the check digit excluded);
GTIN-8/12/13/14 are one key written at four lengths and normalised here to 14
digits; serial numbers (AI 21) and lots (AI 10) are 1-20 characters of GS1 AI
encodable character set 82. Every parser refuses bad input with an
IdentifierError that says what is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


class IdentifierError(ValueError):
    """A malformed or inconsistent GS1 identifier; `field` names which part."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


#: GS1 AI encodable character set 82 (General Specifications, figure 7.11-1).
CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_DIGITS = re.compile(r"^[0-9]+$")


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for the digits that precede it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _numeric_key(text: str, lengths: tuple[int, ...], what: str, field: str) -> str:
    if not isinstance(text, str) or not _DIGITS.match(text):
        raise IdentifierError(f"{what} must be digits only, got {text!r}", field)
    if len(text) not in lengths:
        raise IdentifierError(f"{what} has {len(text)} digits; it must have {' or '.join(map(str, lengths))}", field)
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise IdentifierError(f"{what} {text} has check digit {text[-1]}; it should be {expected}", field)
    return text


def _cset82(text: str, what: str, field: str) -> str:
    if not isinstance(text, str) or not 1 <= len(text) <= 20:
        raise IdentifierError(f"{what} must be 1-20 characters", field)
    bad = sorted(set(text) - CSET82)
    if bad:
        raise IdentifierError(f"{what} {text!r} contains {bad[0]!r}, which GS1 character set 82 does not allow", field)
    return text


@dataclass(frozen=True, order=True)
class Gtin:
    """A Global Trade Item Number, held as 14 digits."""

    digits: str

    @classmethod
    def parse(cls, text: str, field: str = "gtin") -> Gtin:
        """A GTIN-8, -12, -13 or -14, check digit verified, as GTIN-14."""
        return cls(_numeric_key(text.strip() if isinstance(text, str) else text, (8, 12, 13, 14), "GTIN", field).zfill(14))

    def __post_init__(self) -> None:
        _numeric_key(self.digits, (14,), "GTIN-14", "gtin")

    def belongs_to(self, company_prefix: str) -> bool:
        """True if the GTIN was allocated under a GS1 company prefix (the digits after the indicator digit)."""
        return bool(_DIGITS.match(company_prefix)) and 4 <= len(company_prefix) <= 12 and self.digits[1:].startswith(company_prefix)

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True, order=True)
class Sgtin:
    """One trade item instance: GTIN + serial number (AI 21)."""

    gtin: Gtin
    serial: str

    def __post_init__(self) -> None:
        _cset82(self.serial, "serial number", "serial")

    def __str__(self) -> str:
        return f"{self.gtin}.{self.serial}"


def parse_lot(text: str) -> str:
    """A batch/lot number (AI 10)."""
    return _cset82(text, "lot", "lot")


def parse_serial(text: str) -> str:
    """A serial number (AI 21)."""
    return _cset82(text, "serial number", "serial")


@dataclass(frozen=True, order=True)
class Sscc:
    """A Serial Shipping Container Code (cases, pallets): 18 digits."""

    digits: str

    @classmethod
    def parse(cls, text: str, field: str = "sscc") -> Sscc:
        """An SSCC, check digit verified."""
        return cls(_numeric_key(text, (18,), "SSCC", field))

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True, order=True)
class Gln:
    """A Global Location Number: 13 digits."""

    digits: str

    @classmethod
    def parse(cls, text: str, field: str = "gln") -> Gln:
        """A GLN, check digit verified."""
        return cls(_numeric_key(text, (13,), "GLN", field))

    def __str__(self) -> str:
        return self.digits


def sgtin_epc_uri(item: Sgtin, company_prefix_length: int) -> str:
    """The EPC pure identity URI (urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial) of an item."""
    if not 6 <= company_prefix_length <= 12:
        raise IdentifierError("a GS1 company prefix has 6 to 12 digits", "company_prefix")
    digits = item.gtin.digits
    prefix = digits[1:1 + company_prefix_length]
    item_ref = digits[0] + digits[1 + company_prefix_length:13]
    serial = "".join(c if c.isalnum() or c in "-._:" else f"%{ord(c):02X}" for c in item.serial)
    return f"urn:epc:id:sgtin:{prefix}.{item_ref}.{serial}"


def parse_sgtin_epc_uri(uri: str) -> Sgtin:
    """An item from its EPC pure identity URI (the check digit is recomputed)."""
    match = re.match(r"^urn:epc:id:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.{1,60})$", uri)
    if match is None or len(match[1]) + len(match[2]) != 13:
        raise IdentifierError(f"not an SGTIN EPC URI: {uri!r}", "epc")
    prefix, item_ref, serial = match[1], match[2], match[3]
    body = item_ref[0] + prefix + item_ref[1:]
    try:
        serial_text = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m[1], 16)), serial)
    except ValueError:
        raise IdentifierError("bad percent-escape in the serial", "epc") from None
    return Sgtin(Gtin(body + str(check_digit(body))), parse_serial(serial_text))
