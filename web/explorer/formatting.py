"""How chain values read on a page: times in UTC, shortened hashes, bytes as text when they are text."""
from __future__ import annotations

import datetime
import json
from typing import Any, Callable

LONG_HEX = 96  # hex characters shown before a value is cut (with its size)


def when(timestamp_ms: int | None) -> str:
    """Milliseconds since 1970 as 'YYYY-MM-DD HH:MM:SS UTC'."""
    if timestamp_ms is None:
        return ""
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def short(text: str | None, keep: int = 12) -> str:
    """A hash or address cut to its first characters (the full value goes in a title or a link)."""
    if not text:
        return ""
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def text_of(raw: bytes | None) -> str | None:
    """The bytes as text if they are printable UTF-8, else None."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\t" for c in text) else None


def hex_text(hex_value: str | None) -> str | None:
    """Hex-encoded bytes as text if they are printable UTF-8, else None."""
    if hex_value is None:
        return None
    try:
        return text_of(bytes.fromhex(hex_value))
    except ValueError:
        return None


def bytes_view(value: bytes | None) -> str:
    """Bytes as text when they are text, else hex (long values cut, with their size)."""
    if value is None:
        return ""
    text = text_of(value)
    if text is not None:
        return text
    return cut_hex(value.hex())


def cut_hex(hex_value: str) -> str:
    """A long hex string cut, with the size of what it encodes."""
    if len(hex_value) <= LONG_HEX:
        return hex_value
    return f"{hex_value[:LONG_HEX]}… ({len(hex_value) // 2} bytes)"


def to_text(value: Any) -> str:
    """A JSON value on one line (contract results, event fields, operation parameters)."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when, "short": short, "hex_text": hex_text, "bytes_view": bytes_view, "cut_hex": cut_hex,
    "to_text": to_text,
}
