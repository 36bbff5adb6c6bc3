"""EPC URNs (GS1 Tag Data Standard pure identities, classes and patterns) and constrained canonical GS1 Digital Links.

EPCIS names things either as EPC URNs (urn:epc:id:sgtin:0614141.107346.2017)
or as GS1 Digital Link URIs (https://id.gs1.org/01/10614141073464/21/2017).
The CBV 2.0 event hash writes every such identifier as a *constrained
canonical* Digital Link: host id.gs1.org, numeric AIs only, GTINs as 14
digits, no query string, and only the finest level of identification
(serial rather than lot; no CPV), i.e. one of 00, 01, 01+21, 01+10, 01+235,
253, 255, 401, 402, 414, 414+254, 417, 8003, 8004, 8006, 8006+21, 8006+10,
8010, 8010+8011, 8017, 8018.

`canonical_link` gives that form for any EPC URN or Digital Link it can
convert (None otherwise); `parse_epc_urn` checks URN syntax; `epc_urn_of_link`
goes back from a Digital Link to a URN given the GS1 company prefix length
(used to match URN patterns against Digital Links).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from apps.traceability.identifiers import CSET82, check_digit

_DIGITS = re.compile(r"^[0-9]*$")
#: Characters an EPC URN component may hold unescaped (TDS 2.x, "pure identity" URI syntax).
_URN_RAW = frozenset(string.ascii_letters + string.digits + "-_.!'()*+,:;=")
#: Characters a canonical Digital Link value keeps unescaped; the rest of character set 82 is percent-encoded.
_LINK_RAW = frozenset(string.ascii_letters + string.digits + "-._';=")
_CSET39 = frozenset(string.ascii_uppercase + string.digits + "#-/")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")

#: The GS1 schemes of urn:epc:id: this module understands; the others are syntax-checked loosely.
GS1_ID_SCHEMES = ("sgtin", "sscc", "sgln", "grai", "giai", "gsrn", "gsrnp", "gdti", "cpi", "sgcn", "ginc", "gsin",
                  "itip", "upui", "pgln")
OTHER_ID_SCHEMES = ("gid", "usdod", "adi", "bic", "imovn")


class UriSyntaxError(ValueError):
    """An EPC URN or Digital Link that breaks its syntax (the message says how)."""


@dataclass(frozen=True)
class EpcUrn:
    """A parsed EPC URN: kind "id", "class" or "idpat", the scheme, and its decoded components ("*" = any)."""

    kind: str
    scheme: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        encoded = [f if f == "*" else _encode_urn(f) for f in self.fields]
        return f"urn:epc:{self.kind}:{self.scheme}:" + ".".join(encoded)


# Field kinds: ("cp",) company prefix; ("ref", total) digits filling cp to `total`; ("num", lo, hi) digits;
# ("text", lo, hi) character set 82; ("rest", total) character set 82 with len(cp) + len <= total;
# ("cpref", total) character set 39 likewise.
_ID_FIELDS: dict[str, tuple[tuple, ...]] = {
    "sgtin": (("cp",), ("ref", 13), ("text", 1, 20)),
    "sscc": (("cp",), ("ref", 17)),
    "sgln": (("cp",), ("ref", 12), ("text", 1, 20)),
    "grai": (("cp",), ("ref", 12), ("text", 0, 16)),
    "giai": (("cp",), ("rest", 30)),
    "gsrn": (("cp",), ("ref", 17)),
    "gsrnp": (("cp",), ("ref", 17)),
    "gdti": (("cp",), ("ref", 12), ("text", 0, 17)),
    "cpi": (("cp",), ("cpref", 30), ("num", 1, 12)),
    "sgcn": (("cp",), ("ref", 12), ("num", 1, 12)),
    "ginc": (("cp",), ("rest", 30)),
    "gsin": (("cp",), ("ref", 16)),
    "itip": (("cp",), ("ref", 13), ("num", 2, 2), ("num", 2, 2), ("text", 1, 20)),
    "upui": (("cp",), ("ref", 13), ("text", 1, 28)),
    "pgln": (("cp",), ("ref", 12)),
}
_CLASS_FIELDS: dict[str, tuple[tuple, ...]] = {"lgtin": (("cp",), ("ref", 13), ("text", 1, 20))}


def _decode_urn_component(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            match = _ESCAPE.match(text, i)
            if match is None:
                raise UriSyntaxError("a % must start a two-digit hex escape")
            char = chr(int(match[1], 16))
            if char not in CSET82 and char != "#":
                raise UriSyntaxError(f"escape %{match[1]} is not a GS1 character set 82 character")
            i += 3
        elif char in _URN_RAW:
            i += 1
        else:
            raise UriSyntaxError(f"character {char!r} must be percent-encoded in an EPC URN")
        out.append(char)
    return "".join(out)


def _encode_urn(text: str) -> str:
    return "".join(c if c in _URN_RAW else f"%{ord(c):02X}" for c in text)


def encode_link_value(text: str) -> str:
    """A key or qualifier value percent-encoded as a canonical Digital Link writes it."""
    return "".join(c if c in _LINK_RAW else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)


def _check_field(kind: tuple, value: str, cp: str, scheme: str) -> str:
    name = kind[0]
    if name == "cp":
        if not (6 <= len(value) <= 12 and value.isdigit()):
            raise UriSyntaxError(f"{scheme}: the GS1 company prefix must be 6-12 digits, got {value!r}")
        return value
    if name == "ref":
        want = kind[1] - len(cp)
        if not (_DIGITS.match(value) and len(value) == want):
            raise UriSyntaxError(f"{scheme}: after a {len(cp)}-digit company prefix the reference must be {want} digits")
        return value
    decoded = _decode_urn_component(value)
    if name == "num":
        if not (decoded.isdigit() and kind[1] <= len(decoded) <= kind[2]):
            raise UriSyntaxError(f"{scheme}: expected {kind[1]}-{kind[2]} digits, got {value!r}")
    elif name in ("text", "rest") and "#" in decoded:
        raise UriSyntaxError(f"{scheme}: # is not a GS1 character set 82 character")
    elif name == "text":
        if not kind[1] <= len(decoded) <= kind[2]:
            raise UriSyntaxError(f"{scheme}: a serial/lot of {kind[1]}-{kind[2]} characters is expected, got {value!r}")
    elif name == "rest":
        if not 1 <= len(decoded) <= kind[1] - len(cp):
            raise UriSyntaxError(f"{scheme}: the reference must be 1-{kind[1] - len(cp)} characters")
    elif name == "cpref":
        if not 1 <= len(decoded) <= kind[1] - len(cp) or set(decoded) - _CSET39:
            raise UriSyntaxError(f"{scheme}: the component/part reference must be 1-{kind[1] - len(cp)} of 0-9 A-Z # - /")
    return decoded


def parse_epc_urn(uri: str) -> EpcUrn | None:
    """The components of a GS1 EPC URN (id, class lgtin or idpat); None if it is no GS1 EPC URN at all."""
    match = re.match(r"^urn:epc:(id|class|idpat):([a-z]+):(.*)$", uri)
    if match is None:
        return None
    kind, scheme, body = match[1], match[2], match[3]
    specs = (_CLASS_FIELDS if kind == "class" else _ID_FIELDS).get(scheme)
    if specs is None:
        return None
    parts = body.split(".", len(specs) - 1)
    if len(parts) != len(specs):
        raise UriSyntaxError(f"urn:epc:{kind}:{scheme} needs {len(specs)} dot-separated components")
    fields: list[str] = []
    wildcard = False
    for spec, part in zip(specs, parts):
        if kind == "idpat" and part == "*":
            wildcard = True
            fields.append("*")
            continue
        if wildcard:
            raise UriSyntaxError("in an EPC pattern, every component after a * must be * too")
        fields.append(_check_field(spec, part, fields[0] if fields else part, scheme))
    return EpcUrn(kind, scheme, tuple(fields))


def _gtin(cp: str, ref: str) -> str:
    body = ref[0] + cp + ref[1:]
    return body + str(check_digit(body))


def _with_check(body: str) -> str:
    return body + str(check_digit(body))


def link_of_epc_urn(urn: EpcUrn) -> str | None:
    """The constrained canonical Digital Link of a parsed EPC URN (patterns: only when just the last part is *)."""
    f = urn.fields
    e = encode_link_value
    base = "https://id.gs1.org/"
    if urn.kind == "class":
        return f"{base}01/{_gtin(f[0], f[1])}/10/{e(f[2])}"
    if urn.kind == "idpat":
        if "*" in f[:-1] or f[-1] != "*":
            return None
        s = urn.scheme
        if s in ("sgtin", "upui"):
            return f"{base}01/{_gtin(f[0], f[1])}"
        if s == "grai":
            return f"{base}8003/{_with_check('0' + f[0] + f[1])}"
        if s == "gdti":
            return f"{base}253/{_with_check(f[0] + f[1])}"
        if s == "sgcn":
            return f"{base}255/{_with_check(f[0] + f[1])}"
        if s == "cpi":
            return f"{base}8010/{e(f[0] + f[1])}"
        if s == "itip":
            return f"{base}8006/{_gtin(f[0], f[1])}{f[2]}{f[3]}"
        return None
    s = urn.scheme
    if s == "sgtin":
        return f"{base}01/{_gtin(f[0], f[1])}/21/{e(f[2])}"
    if s == "sscc":
        return f"{base}00/{_with_check(f[1][0] + f[0] + f[1][1:])}"
    if s == "sgln":
        gln = _with_check(f[0] + f[1])
        return f"{base}414/{gln}" if f[2] == "0" else f"{base}414/{gln}/254/{e(f[2])}"
    if s == "grai":
        return f"{base}8003/{_with_check('0' + f[0] + f[1])}{e(f[2])}"
    if s in ("giai", "ginc"):
        return f"{base}{'8004' if s == 'giai' else '401'}/{e(f[0] + f[1])}"
    if s in ("gsrn", "gsrnp"):
        return f"{base}{'8018' if s == 'gsrn' else '8017'}/{_with_check(f[0] + f[1])}"
    if s == "gdti":
        return f"{base}253/{_with_check(f[0] + f[1])}{e(f[2])}"
    if s == "cpi":
        return f"{base}8010/{e(f[0] + f[1])}/8011/{f[2]}"
    if s == "sgcn":
        return f"{base}255/{_with_check(f[0] + f[1])}{f[2]}"
    if s == "gsin":
        return f"{base}402/{_with_check(f[0] + f[1])}"
    if s == "itip":
        return f"{base}8006/{_gtin(f[0], f[1])}{f[2]}{f[3]}/21/{e(f[4])}"
    if s == "upui":
        return f"{base}01/{_gtin(f[0], f[1])}/235/{e(f[2])}"
    if s == "pgln":
        return f"{base}417/{_with_check(f[0] + f[1])}"
    return None


# --- Digital Link URIs -------------------------------------------------------------------------------------------

_SHORT_NAMES = {"gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017",
                "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402",
                "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21", "glnx": "254",
                "tpx": "235", "cpsn": "8011"}


def _cset82(low: int, high: int):
    return lambda v: low <= len(v) <= high and not set(v) - CSET82


def _numeric(low: int, high: int):
    return lambda v: low <= len(v) <= high and v.isdigit()


def _prefixed(digits: int, tail):
    return lambda v: len(v) >= digits and v[:digits].isdigit() and tail(v[digits:])


_PRIMARY = {
    "00": _numeric(18, 18),
    "01": lambda v: v.isdigit() and len(v) in (8, 12, 13, 14),
    "253": _prefixed(13, _cset82(0, 17)),
    "255": _prefixed(13, _numeric(0, 12)),
    "401": _cset82(1, 30),
    "402": _numeric(17, 17),
    "414": _numeric(13, 13),
    "417": _numeric(13, 13),
    "8003": _prefixed(14, _cset82(0, 16)),
    "8004": _cset82(1, 30),
    "8006": _numeric(18, 18),
    "8010": lambda v: 1 <= len(v) <= 30 and not set(v) - _CSET39,
    "8017": _numeric(18, 18),
    "8018": _numeric(18, 18),
}
#: Key qualifiers each primary key may carry, in the order the Digital Link grammar allows them.
_QUALIFIERS = {
    "01": ("22", "10", "21", "235"),
    "8006": ("22", "10", "21"),
    "414": ("254",),
    "8010": ("8011",),
}
_QUALIFIER_SYNTAX = {"22": _cset82(1, 20), "10": _cset82(1, 20), "21": _cset82(1, 20), "235": _cset82(1, 28),
                     "254": _cset82(1, 20), "8011": _numeric(1, 12)}


@dataclass(frozen=True)
class LinkKey:
    """The GS1 key a Digital Link carries: primary AI and value, and its key qualifiers (AI -> value), decoded."""

    ai: str
    value: str
    qualifiers: tuple[tuple[str, str], ...]
    host: str

    def qualifier(self, ai: str) -> str | None:
        """The value of one key qualifier, if present."""
        return dict(self.qualifiers).get(ai)


def parse_link(uri: str) -> LinkKey | None:
    """The GS1 key of an http(s) Digital Link URI (any host, any path before the key); None if it carries none."""
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if not parts.netloc:
        return None
    raw = parts.path.split("/")[1:]
    if raw and raw[-1] == "":
        raw = raw[:-1]
    try:
        segments = [unquote(s, errors="strict") for s in raw]
    except UnicodeDecodeError:
        return None
    for start in range(len(segments) - 1):
        ai = _SHORT_NAMES.get(segments[start], segments[start])
        check = _PRIMARY.get(ai)
        if check is None or not check(segments[start + 1]):
            continue
        rest = segments[start + 2:]
        if len(rest) % 2:
            return None
        allowed = list(_QUALIFIERS.get(ai, ()))
        qualifiers: list[tuple[str, str]] = []
        for i in range(0, len(rest), 2):
            q = _SHORT_NAMES.get(rest[i], rest[i])
            if q not in allowed or not _QUALIFIER_SYNTAX[q](rest[i + 1]):
                return None
            allowed = allowed[allowed.index(q) + 1:]
            qualifiers.append((q, rest[i + 1]))
        value = segments[start + 1]
        if ai == "01":
            value = value.zfill(14)
        return LinkKey(ai, value, tuple(qualifiers), parts.hostname or "")
    return None


def canonical_link_of(key: LinkKey) -> str:
    """The constrained canonical Digital Link of a parsed key: id.gs1.org, finest identification level only."""
    e = encode_link_value
    text = f"https://id.gs1.org/{key.ai}/{e(key.value)}"
    serial, lot, tpx = key.qualifier("21"), key.qualifier("10"), key.qualifier("235")
    if key.ai in ("01", "8006"):
        if serial is not None:
            return f"{text}/21/{e(serial)}"
        if tpx is not None:
            return f"{text}/235/{e(tpx)}"
        if lot is not None:
            return f"{text}/10/{e(lot)}"
        return text
    for ai in ("254", "8011"):
        value = key.qualifier(ai)
        if value is not None:
            return f"{text}/{ai}/{e(value)}"
    return text


def canonical_link(uri: str) -> str | None:
    """The constrained canonical Digital Link of an EPC URN or a Digital Link URI; None if it names no GS1 key."""
    if not isinstance(uri, str):
        return None
    if uri.startswith("urn:epc:"):
        try:
            urn = parse_epc_urn(uri)
        except UriSyntaxError:
            return None
        return None if urn is None else link_of_epc_urn(urn)
    key = parse_link(uri)
    return None if key is None else canonical_link_of(key)


def check_digits_ok(key: LinkKey) -> bool:
    """True if the check digit inside the key (where the key has one) is right."""
    v = key.value
    positions = {"00": 18, "01": 14, "253": 13, "255": 13, "402": 17, "414": 13, "417": 13, "8006": 14,
                 "8017": 18, "8018": 18}
    if key.ai == "8003":
        return v[13] == str(check_digit(v[1:13]))
    length = positions.get(key.ai)
    if length is None:
        return True
    return v[length - 1] == str(check_digit(v[:length - 1]))


def epc_urn_of_link(uri: str, company_prefix_length: int) -> EpcUrn | None:
    """The EPC URN (pure identity or lgtin class) of a Digital Link, given the company prefix length; None if none."""
    key = parse_link(uri)
    if key is None or not 6 <= company_prefix_length <= 12:
        return None
    n, v = company_prefix_length, key.value
    serial, lot, tpx = key.qualifier("21"), key.qualifier("10"), key.qualifier("235")

    def item(g: str) -> tuple[str, str]:
        return g[1:1 + n], g[0] + g[1 + n:13]

    if key.ai == "01":
        cp, ref = item(v)
        if serial is not None:
            return EpcUrn("id", "sgtin", (cp, ref, serial))
        if tpx is not None:
            return EpcUrn("id", "upui", (cp, ref, tpx))
        if lot is not None:
            return EpcUrn("class", "lgtin", (cp, ref, lot))
        return None
    if key.ai == "8006":
        if serial is None:
            return None
        cp, ref = item(v[:14])
        return EpcUrn("id", "itip", (cp, ref, v[14:16], v[16:18], serial))
    if n > len(v) and key.ai in ("8004", "401", "8010"):
        return None
    simple = {
        "00": lambda: ("sscc", (v[1:1 + n], v[0] + v[1 + n:17])),
        "414": lambda: ("sgln", (v[:n], v[n:12], key.qualifier("254") or "0")),
        "8003": lambda: ("grai", (v[1:1 + n], v[1 + n:13], v[14:])),
        "8004": lambda: ("giai", (v[:n], v[n:])),
        "8018": lambda: ("gsrn", (v[:n], v[n:17])),
        "8017": lambda: ("gsrnp", (v[:n], v[n:17])),
        "253": lambda: ("gdti", (v[:n], v[n:12], v[13:])),
        "8010": lambda: ("cpi", (v[:n], v[n:], key.qualifier("8011") or "")),
        "255": lambda: ("sgcn", (v[:n], v[n:12], v[13:])),
        "401": lambda: ("ginc", (v[:n], v[n:])),
        "402": lambda: ("gsin", (v[:n], v[n:16])),
        "417": lambda: ("pgln", (v[:n], v[n:12])),
    }
    make = simple.get(key.ai)
    if make is None:
        return None
    scheme, fields = make()
    if scheme == "cpi" and not fields[2]:
        return None
    return EpcUrn("id", scheme, fields)
