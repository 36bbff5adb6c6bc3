"""xsd:dateTimeStamp values as EPCIS uses them: checked, compared exactly, and written in UTC with milliseconds.

EPCIS timestamps always carry a time zone ("Z" or "+hh:mm") and may have any
number of fractional-second digits. Comparisons use the exact instant (seconds
since 1970 as a Decimal, so no digit is lost); the event hash writes the
instant in UTC with exactly three fractional digits, the third rounded up when
the fourth is 5-9 (CBV 2.0 event hash rule).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

_STAMP = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r":(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,64}))?"
    r"(?P<zone>Z|[+-](?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))$")
_OFFSET = re.compile(r"^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _parse(text: str) -> tuple[datetime, str] | None:
    match = _STAMP.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    if match["zh"] is not None:
        zh, zm = int(match["zh"]), int(match["zm"])
        if zm > 59 or zh * 60 + zm > 14 * 60:
            return None
        offset = timedelta(hours=zh, minutes=zm) * (-1 if match["zone"][0] == "-" else 1)
    else:
        offset = timedelta(0)
    try:
        moment = datetime(int(match["year"]), int(match["month"]), int(match["day"]), int(match["hour"]),
                          int(match["minute"]), int(match["second"]), tzinfo=timezone(offset))
    except ValueError:
        return None
    if moment.year < 2 or moment.year > 9998:  # keep the UTC conversion inside datetime's range
        return None
    return moment.astimezone(timezone.utc), match["fraction"] or ""


def is_timestamp(text: object) -> bool:
    """True for an xsd:dateTimeStamp: YYYY-MM-DDThh:mm:ss[.fraction] and Z or an offset of at most 14:00."""
    return isinstance(text, str) and _parse(text) is not None


def is_zone_offset(text: object) -> bool:
    """True for an eventTimeZoneOffset: +hh:mm or -hh:mm, at most 14:00 either way."""
    return isinstance(text, str) and _OFFSET.match(text) is not None


def instant(text: str) -> Decimal:
    """The exact instant of a timestamp, in seconds since 1970-01-01T00:00:00Z."""
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"not an xsd:dateTimeStamp: {text!r}")
    moment, fraction = parsed
    whole = (moment - _EPOCH) // timedelta(seconds=1)
    return Decimal(whole) + (Decimal("0." + fraction) if fraction else Decimal(0))


def utc_milliseconds(text: str) -> str:
    """The timestamp in UTC with exactly three fractional digits, e.g. 2020-03-04T10:00:30.000Z (half up)."""
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"not an xsd:dateTimeStamp: {text!r}")
    moment, fraction = parsed
    digits = (fraction + "0000")[:4]
    millis = int(digits[:3]) + (1 if digits[3] >= "5" else 0)
    moment = moment + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as an EPCIS timestamp with milliseconds and its own offset ("Z" for UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the datetime must carry a time zone")
    offset = zone_offset(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text + ("Z" if offset == "+00:00" else offset)


def zone_offset(moment: datetime) -> str:
    """The +hh:mm / -hh:mm offset of an aware datetime."""
    delta = moment.utcoffset()
    if delta is None:
        raise ValueError("the datetime must carry a time zone")
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_offset_of(text: str) -> str:
    """The +hh:mm offset a timestamp is written in ("Z" gives +00:00)."""
    match = _STAMP.match(text)
    if match is None:
        raise ValueError(f"not an xsd:dateTimeStamp: {text!r}")
    return "+00:00" if match["zone"] == "Z" else match["zone"]


def now() -> str:
    """The current time as an EPCIS timestamp in UTC with milliseconds."""
    return format_timestamp(datetime.now(timezone.utc))
