"""GS1 Digital Link URIs: what the QR code on each item carries, and what the consumer page is served at.

    https://<resolver>/01/<GTIN-14>[/10/<lot>][/21/<serial>][?17=<YYMMDD>]

Path elements follow the GS1 Digital Link URI syntax: the primary key (AI 01,
GTIN) then its key qualifiers in the standard's order (10 lot, 21 serial);
data attributes such as AI 17 (expiry, YYMMDD, DD = 00 meaning the month's
end) go in the query string. Values are percent-encoded where the URI syntax
requires it. `parse` accepts what `build` produces (and GTIN-8/12/13 written
at their own length), and refuses anything else with an IdentifierError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from apps.traceability.identifiers import (
    Gtin,
    IdentifierError,
    Sgtin,
    parse_lot,
    parse_serial,
)

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class DigitalLink:
    """The identifiers a Digital Link carries."""

    resolver: str
    gtin: Gtin
    lot: str | None = None
    serial: str | None = None
    expiry: str | None = None  # YYMMDD as printed
    scheme: str = "https"  # http only for a resolver on a developer's own machine

    @property
    def item(self) -> Sgtin | None:
        """The item (GTIN + serial), if the link names one."""
        return None if self.serial is None else Sgtin(self.gtin, self.serial)

    def expiry_date(self) -> date | None:
        """The expiry as a date (DD = 00: the last day of the month)."""
        return None if self.expiry is None else expiry_to_date(self.expiry)

    @property
    def path(self) -> str:
        """The path and query, without the resolver (what our web app routes)."""
        path = f"/01/{self.gtin.digits}"
        if self.lot is not None:
            path += f"/10/{_encode(self.lot)}"
        if self.serial is not None:
            path += f"/21/{_encode(self.serial)}"
        if self.expiry is not None:
            path += f"?17={self.expiry}"
        return path

    def uri(self) -> str:
        """The full URI for the QR code."""
        return f"{self.scheme}://{self.resolver}{self.path}"


def _encode(value: str) -> str:
    return quote(value, safe="!$'()*,-.:;=@_~")


def expiry_to_date(text: str) -> date:
    """A YYMMDD date in 2000-2099 (GS1's sliding century window agrees for every expiry this century); DD 00 = month end."""
    if not re.match(r"^[0-9]{6}$", text):
        raise IdentifierError(f"expiry must be YYMMDD, got {text!r}", "expiry")
    year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:])
    if not 1 <= month <= 12:
        raise IdentifierError(f"expiry month {month} is not 01-12", "expiry")
    if day == 0:
        following = date(year + (month == 12), month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    try:
        return date(year, month, day)
    except ValueError:
        raise IdentifierError(f"expiry {text} is not a date", "expiry") from None


def build(resolver: str, gtin: Gtin, lot: str | None = None, serial: str | None = None, expiry: str | None = None,
          scheme: str = "https") -> DigitalLink:
    """A checked Digital Link."""
    if scheme not in ("https", "http"):
        raise IdentifierError("the scheme is https (or http for a local resolver)", "scheme")
    if not _HOST.match(resolver):
        raise IdentifierError(f"resolver must be a host name (and port), got {resolver!r}", "resolver")
    if lot is not None:
        parse_lot(lot)
    if serial is not None:
        parse_serial(serial)
    if expiry is not None:
        expiry_to_date(expiry)
    return DigitalLink(resolver, gtin, lot, serial, expiry, scheme)


def parse(uri: str) -> DigitalLink:
    """The identifiers of a Digital Link URI, every part checked."""
    if not isinstance(uri, str) or len(uri) > 2048:
        raise IdentifierError("a Digital Link is a URI of at most 2048 characters", "uri")
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise IdentifierError(f"not an http(s) URI: {uri!r}", "uri")
    segments = parts.path.split("/")[1:]
    if len(segments) % 2 or not segments:
        raise IdentifierError("the path must be pairs of /AI/value", "uri")
    try:
        pairs = [(segments[i], unquote(segments[i + 1], errors="strict")) for i in range(0, len(segments), 2)]
    except UnicodeDecodeError:
        raise IdentifierError("a path value is not UTF-8 once percent-decoded", "uri") from None
    if pairs[0][0] != "01":
        raise IdentifierError("the primary key must be AI 01 (GTIN)", "uri")
    gtin = Gtin.parse(pairs[0][1])
    lot = serial = None
    order = ["10", "21"]
    for ai, value in pairs[1:]:
        if ai not in order:
            raise IdentifierError(f"AI {ai} is not a key qualifier of a GTIN here (10 lot, 21 serial, in that order)", "uri")
        order = order[order.index(ai) + 1:]
        if ai == "10":
            lot = parse_lot(value)
        else:
            serial = parse_serial(value)
    expiry = None
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key == "17":
            expiry_to_date(value)
            expiry = value
    return DigitalLink(parts.netloc, gtin, lot, serial, expiry, parts.scheme)
