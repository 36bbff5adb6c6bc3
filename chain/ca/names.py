"""Roles, naming rules and distinguished names of the consortium PKI.

Convention (as Hyperledger Fabric's NodeOUs): the member organisation is the
subject O= attribute, the role is the subject OU= attribute, and CN= names the
holder. Names are encoded in the order O, OU, CN, each a UTF8String, the same
way for both suites, so the ledger can match an issuer by its DER bytes.
"""
from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509

from chain.ca import oids
from chain.ca.errors import InvalidNameError


class Role(enum.StrEnum):
    """The role a certificate holder plays; carried as the subject OU."""

    ROOT = "root"
    CA = "ca"
    NODE = "node"
    GATEWAY = "gateway"
    USER = "user"
    DEVICE = "device"
    ADMIN = "admin"


LEAF_ROLES: tuple[Role, ...] = (Role.NODE, Role.GATEWAY, Role.USER, Role.DEVICE, Role.ADMIN)
TLS_SERVER_ROLES = frozenset({Role.NODE, Role.GATEWAY})
ROOT_ORG_RESERVED = "root"
_ROLE_VALUES = frozenset(r.value for r in Role)

_ORG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DNS_RE = re.compile(r"(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_MAX_CN = 64  # ub-common-name, RFC 5280 appendix A


def parse_role(text: str, *, leaf_only: bool = False) -> Role:
    """The Role called text; with leaf_only, refuse root and ca."""
    try:
        role = Role(text.strip().lower())
    except ValueError:
        allowed = LEAF_ROLES if leaf_only else tuple(Role)
        raise InvalidNameError(f"unknown role {text!r}; choose one of: {', '.join(allowed)}") from None
    if leaf_only and role not in LEAF_ROLES:
        raise InvalidNameError(f"role {role} is not a leaf role; choose one of: {', '.join(LEAF_ROLES)}")
    return role


def check_organisation(org: str) -> str:
    """Refuse an organisation name that is not a short identifier (it names a directory too)."""
    if not _ORG_RE.fullmatch(org):
        raise InvalidNameError(
            f"organisation {org!r} must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if org.lower() == ROOT_ORG_RESERVED:
        raise InvalidNameError(f"{org!r} is reserved for the consortium root; choose another organisation name")
    return org


def check_common_name(cn: str) -> str:
    """Refuse an empty, over-long or control-character common name."""
    if not cn or cn != cn.strip():
        raise InvalidNameError("the common name must not be empty or start/end with spaces")
    if len(cn) > _MAX_CN:
        raise InvalidNameError(f"the common name is longer than {_MAX_CN} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in cn):
        raise InvalidNameError("the common name must not contain control characters")
    return cn


def check_dns_name(name: str) -> str:
    """Refuse a DNS subjectAltName that is not a host name."""
    if not _DNS_RE.fullmatch(name):
        raise InvalidNameError(f"{name!r} is not a valid DNS name")
    return name.lower()


def check_ip_address(text: str) -> str:
    """Normalise an IPv4/IPv6 subjectAltName."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise InvalidNameError(f"{text!r} is not an IP address") from None


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out[:1] in ("#", " "):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class DistinguishedName:
    """Subject or issuer name: CN, O (organisation) and OU (role); None where absent."""

    common_name: str | None
    organisation: str | None
    role: str | None

    def to_asn1(self) -> asn1_x509.Name:
        """The X.509 Name: O, OU, CN as single-attribute RDNs, UTF8String values."""
        rdns = []
        parts = ((oids.ORGANIZATION, self.organisation), (oids.ORGANIZATIONAL_UNIT, self.role), (oids.COMMON_NAME, self.common_name))
        for oid, value in parts:
            if value is None:
                continue
            atv = asn1_x509.NameTypeAndValue({"type": oid, "value": asn1_x509.DirectoryString(name="utf8_string", value=value)})
            rdns.append(asn1_x509.RelativeDistinguishedName([atv]))
        return asn1_x509.Name(name="", value=asn1_x509.RDNSequence(rdns))

    def der(self) -> bytes:
        """DER of the X.509 Name."""
        return self.to_asn1().dump()

    @classmethod
    def from_asn1(cls, name: asn1_x509.Name) -> DistinguishedName:
        """Read CN, O and the role OU from a parsed X.509 Name (first of each; a known role wins among OUs)."""
        found: dict[str, list[str]] = {oids.COMMON_NAME: [], oids.ORGANIZATION: [], oids.ORGANIZATIONAL_UNIT: []}
        for rdn in name.chosen:
            for atv in rdn:
                oid = atv["type"].dotted
                if oid in found:
                    value = atv["value"].native
                    found[oid].append(value if isinstance(value, str) else str(value))
        units = found[oids.ORGANIZATIONAL_UNIT]
        roles = [u for u in units if u in _ROLE_VALUES] or units
        return cls(_first(found[oids.COMMON_NAME]), _first(found[oids.ORGANIZATION]), _first(roles))

    def __str__(self) -> str:
        """RFC 4514 text, most specific first: CN=...,OU=...,O=..."""
        parts = [(k, v) for k, v in (("CN", self.common_name), ("OU", self.role), ("O", self.organisation)) if v is not None]
        return ",".join(f"{k}={_escape(v)}" for k, v in parts)
