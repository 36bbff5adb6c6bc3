"""EPCIS identifiers (EPC URNs and GS1 Digital Link URIs) as the traceability contract's keys, and back.

The contract keys things by one canonical text per identity, whatever form an
EPCIS document used: "sgtin:<GTIN-14>.<serial>" for an item,
"sscc:<SSCC-18>" for a case or pallet, "lgtin:<GTIN-14>.<lot>" for a lot.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from apps.traceability import digital_link
from apps.traceability.identifiers import (
    Gtin,
    IdentifierError,
    Sscc,
    check_digit,
    parse_lot,
    parse_sgtin_epc_uri,
)

_SSCC_URN = re.compile(r"^urn:epc:id:sscc:([0-9]{6,12})\.([0-9]{5,11})$")
_LGTIN_URN = re.compile(r"^urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.{1,60})$")
_SSCC_LINK = re.compile(r"^/00/([0-9]{18})$")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def item_key(gtin: str, serial: str) -> str:
    """The contract key of one item."""
    return f"sgtin:{gtin}.{serial}"


def lot_key(gtin: str, lot: str) -> str:
    """The contract key of a lot."""
    return f"lgtin:{gtin}.{lot}"


def to_key(uri: str, field: str = "epc") -> str:
    """The contract key of an EPC URN or Digital Link URI; anything else is refused with an IdentifierError."""
    if not isinstance(uri, str) or not uri:
        raise IdentifierError("an identifier is a non-empty string", field)
    if uri.startswith("urn:epc:id:sgtin:"):
        item = parse_sgtin_epc_uri(uri)
        return item_key(item.gtin.digits, item.serial)
    if uri.startswith("urn:epc:id:sscc:"):
        match = _SSCC_URN.match(uri)
        if match is None or len(match[1]) + len(match[2]) != 17:
            raise IdentifierError(f"not an SSCC EPC URI: {uri!r}", field)
        body = match[2][0] + match[1] + match[2][1:]
        return f"sscc:{body}{check_digit(body)}"
    if uri.startswith("urn:epc:class:lgtin:"):
        match = _LGTIN_URN.match(uri)
        if match is None or len(match[1]) + len(match[2]) != 13:
            raise IdentifierError(f"not an LGTIN EPC class URI: {uri!r}", field)
        body = match[2][0] + match[1] + match[2][1:]
        lot = parse_lot(_PERCENT.sub(lambda m: chr(int(m[1], 16)), match[3]))
        return lot_key(body + str(check_digit(body)), lot)
    if uri.startswith(("https://", "http://")):
        return _digital_link_key(uri, field)
    raise IdentifierError(f"unsupported identifier {uri!r}: use an SGTIN/SSCC/LGTIN EPC URI or a GS1 Digital Link", field)


def _digital_link_key(uri: str, field: str) -> str:
    path = urlsplit(uri).path
    sscc = _SSCC_LINK.match(path)
    if sscc is not None:
        return f"sscc:{Sscc.parse(unquote(sscc[1]), field).digits}"
    link = digital_link.parse(uri)
    if link.serial is not None:
        return item_key(link.gtin.digits, link.serial)
    if link.lot is not None:
        return lot_key(link.gtin.digits, link.lot)
    raise IdentifierError(f"{uri!r} names a product class, not an item, lot or container", field)


def split_key(key: str) -> tuple[str, str, str]:
    """(kind, GTIN-14 or SSCC, serial or lot or "") of a contract key."""
    kind, _, body = key.partition(":")
    if kind == "sscc" and len(body) == 18:
        return kind, Sscc.parse(body).digits, ""
    if kind in ("sgtin", "lgtin") and len(body) > 15 and body[14] == ".":
        return kind, Gtin.parse(body[:14]).digits, body[15:]
    raise IdentifierError(f"not a contract key: {key!r}", "epc")


def key_to_uri(key: str, resolver: str) -> str:
    """The GS1 Digital Link URI of a contract key (what a QR code or a page link carries)."""
    kind, number, rest = split_key(key)
    if kind == "sscc":
        return f"https://{resolver}/00/{number}"
    gtin = Gtin(number)
    if kind == "sgtin":
        return digital_link.build(resolver, gtin, serial=rest).uri()
    return digital_link.build(resolver, gtin, lot=rest).uri()
