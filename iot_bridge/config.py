"""The bridge's configuration: a TOML file, then IOT_BRIDGE_* environment overrides, validated field by field.

Every error names the field it is about in dotted form (``broker.port``), so an operator
can fix the file without reading code. Relative paths are resolved against the directory
of the config file. Secrets never live in the file: organisation key passwords and the
broker password are read from environment variables the file names.

Environment overrides: ``IOT_BRIDGE_<SECTION>_<FIELD>`` for every scalar field, e.g.
``IOT_BRIDGE_BROKER_PORT=8883`` or ``IOT_BRIDGE_HTTP_LISTEN=0.0.0.0:9108``.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from iot_bridge.topics import TopicError, check_prefix, check_segment

ENV_PREFIX = "IOT_BRIDGE_"
_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAPPER_RE = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_FORMATS = ("kv", "json")


class ConfigError(ValueError):
    """A configuration value that cannot be used; .field is its dotted name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "iot-bridge"
    session_expiry_s: int = 86_400
    keepalive_s: int = 30
    receive_maximum: int = 1000
    answer_qos: int = 0
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    username: str = ""
    password_env: str = ""


@dataclass(frozen=True)
class TopicsConfig:
    prefix: str = "trace"


@dataclass(frozen=True)
class OutboxConfig:
    path: str = "var/iot/outbox.sqlite"


@dataclass(frozen=True)
class GatewayConfig:
    url: str = "http://127.0.0.1:8080"
    ledger: str = "main"


@dataclass(frozen=True)
class OrganisationConfig:
    key_file: str
    password_env: str


@dataclass(frozen=True)
class MapperConfig:
    spec: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchConfig:
    intake_max: int = 500
    intake_window_ms: int = 3
    drain_max: int = 500
    drain_in_flight: int = 4


@dataclass(frozen=True)
class HttpConfig:
    listen: str = "127.0.0.1:9108"

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class LogConfig:
    level: str = "INFO"
    format: str = "kv"


@dataclass(frozen=True)
class BridgeConfig:
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    organisations: Mapping[str, OrganisationConfig] = field(default_factory=dict)
    mapper: MapperConfig = field(default_factory=MapperConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def tls(self) -> bool:
        return bool(self.broker.tls_ca)


_SECTIONS: dict[str, type] = {
    "broker": BrokerConfig,
    "topics": TopicsConfig,
    "outbox": OutboxConfig,
    "gateway": GatewayConfig,
    "mapper": MapperConfig,
    "batch": BatchConfig,
    "http": HttpConfig,
    "log": LogConfig,
}
_PATH_FIELDS = {("broker", "tls_ca"), ("broker", "tls_cert"), ("broker", "tls_key"), ("outbox", "path")}


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """value as the field's type (str, int); env values arrive as text."""
    if kind in (int, "int"):
        if isinstance(value, bool):
            raise ConfigError(name, f"must be an integer, got {value!r}")
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise ConfigError(name, f"must be an integer, got {value!r}") from None
        if not isinstance(value, int):
            raise ConfigError(name, f"must be an integer, got {type(value).__name__}")
        return value
    if kind in (str, "str"):
        if not isinstance(value, str):
            raise ConfigError(name, f"must be a string, got {type(value).__name__}")
        return value
    return value


def _section(name: str, cls: type, raw: Any, base: Path) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(name, "must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{name}.{key}", f"unknown field; known: {', '.join(sorted(fields))}")
        if name == "mapper" and key == "options":
            if not isinstance(value, dict):
                raise ConfigError("mapper.options", "must be a table")
            values[key] = dict(value)
            continue
        value = _coerce(f"{name}.{key}", value, fields[key].type)
        if (name, key) in _PATH_FIELDS and value:
            value = str((base / value).resolve()) if not os.path.isabs(value) else value
        values[key] = value
    return cls(**values)


def _organisations(raw: Any, base: Path) -> dict[str, OrganisationConfig]:
    if not isinstance(raw, dict):
        raise ConfigError("organisations", "must be a table of [organisations.<name>] tables")
    orgs: dict[str, OrganisationConfig] = {}
    for org, table in raw.items():
        where = f"organisations.{org}"
        try:
            check_segment(org, where)
        except TopicError as exc:
            raise ConfigError(where, str(exc).split(": ", 1)[1]) from None
        if not isinstance(table, dict):
            raise ConfigError(where, "must be a table with key_file and password_env")
        unknown = set(table) - {"key_file", "password_env"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown field; known: key_file, password_env")
        for key in ("key_file", "password_env"):
            if key not in table:
                raise ConfigError(f"{where}.{key}", "is required")
            _coerce(f"{where}.{key}", table[key], str)
        key_file = table["key_file"]
        orgs[org] = OrganisationConfig(
            key_file=key_file if os.path.isabs(key_file) else str((base / key_file).resolve()),
            password_env=table["password_env"],
        )
    return orgs


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Overlay IOT_BRIDGE_<SECTION>_<FIELD> values onto the raw tables (unknown names are an error)."""
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for section, cls in _SECTIONS.items():
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1:]
                known = {f.name for f in dataclasses.fields(cls)} - {"options"}
                if key not in known:
                    raise ConfigError(name, f"unknown override; {section} has {', '.join(sorted(known))}")
                raw.setdefault(section, {})[key] = value
                break
        else:
            raise ConfigError(name, f"unknown override; sections are {', '.join(_SECTIONS)}")


def _validate(cfg: BridgeConfig) -> None:
    b = cfg.broker
    if not b.host or any(c.isspace() for c in b.host):
        raise ConfigError("broker.host", f"must be a host name or address, got {b.host!r}")
    if not 1 <= b.port <= 65535:
        raise ConfigError("broker.port", f"must be 1-65535, got {b.port}")
    if not _CLIENT_ID_RE.fullmatch(b.client_id):
        raise ConfigError("broker.client_id", "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'")
    if not 60 <= b.session_expiry_s <= 0xFFFFFFFF:
        raise ConfigError("broker.session_expiry_s", "must be at least 60 (a persistent session keeps QoS 1 messages across restarts)")
    if not 5 <= b.keepalive_s <= 65535:
        raise ConfigError("broker.keepalive_s", f"must be 5-65535, got {b.keepalive_s}")
    if not 1 <= b.receive_maximum <= 65535:
        raise ConfigError("broker.receive_maximum", f"must be 1-65535, got {b.receive_maximum}")
    if b.answer_qos not in (0, 1):
        raise ConfigError("broker.answer_qos", f"must be 0 or 1, got {b.answer_qos}")
    if not 1 <= b.reconnect_min_s <= b.reconnect_max_s:
        raise ConfigError("broker.reconnect_min_s", "must be >= 1 and <= broker.reconnect_max_s")
    if bool(b.tls_cert) != bool(b.tls_key):
        raise ConfigError("broker.tls_key" if b.tls_cert else "broker.tls_cert", "tls_cert and tls_key go together")
    if b.tls_cert and not b.tls_ca:
        raise ConfigError("broker.tls_ca", "is required when a client certificate is configured")
    if b.password_env and not _ENV_NAME_RE.fullmatch(b.password_env):
        raise ConfigError("broker.password_env", f"{b.password_env!r} is not an environment variable name")
    try:
        check_prefix(cfg.topics.prefix, "topics.prefix")
    except TopicError as exc:
        raise ConfigError("topics.prefix", str(exc).split(": ", 1)[1]) from None
    if not cfg.outbox.path:
        raise ConfigError("outbox.path", "is required")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", cfg.gateway.url):
        raise ConfigError("gateway.url", f"must be an http:// or https:// URL, got {cfg.gateway.url!r}")
    if not cfg.gateway.ledger:
        raise ConfigError("gateway.ledger", "is required")
    for org, oc in cfg.organisations.items():
        if not _ENV_NAME_RE.fullmatch(oc.password_env):
            raise ConfigError(f"organisations.{org}.password_env", f"{oc.password_env!r} is not an environment variable name")
    if cfg.mapper.spec and not _MAPPER_RE.fullmatch(cfg.mapper.spec):
        raise ConfigError("mapper.spec", f"must look like 'package.module:factory', got {cfg.mapper.spec!r}")
    bt = cfg.batch
    if not 1 <= bt.intake_max <= 10_000:
        raise ConfigError("batch.intake_max", f"must be 1-10000, got {bt.intake_max}")
    if not 0 <= bt.intake_window_ms <= 1000:
        raise ConfigError("batch.intake_window_ms", f"must be 0-1000, got {bt.intake_window_ms}")
    if not 1 <= bt.drain_max <= 10_000:
        raise ConfigError("batch.drain_max", f"must be 1-10000, got {bt.drain_max}")
    if not 1 <= bt.drain_in_flight <= 64:
        raise ConfigError("batch.drain_in_flight", f"must be 1-64, got {bt.drain_in_flight}")
    host, sep, port = cfg.http.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError("http.listen", f"must be host:port, got {cfg.http.listen!r}")
    if cfg.log.level.upper() not in _LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(_LEVELS)}")
    if cfg.log.format not in _FORMATS:
        raise ConfigError("log.format", f"must be one of {', '.join(_FORMATS)}")


def parse_config(raw: Mapping[str, Any], base: Path | str = ".", env: Mapping[str, str] | None = None) -> BridgeConfig:
    """A validated BridgeConfig from parsed TOML tables plus env overrides (env=None: no overrides)."""
    base = Path(base)
    tables: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    if env:
        _apply_env(tables, env)
    parts: dict[str, Any] = {}
    for name, value in tables.items():
        if name == "organisations":
            parts[name] = _organisations(value, base)
        elif name in _SECTIONS:
            parts[name] = _section(name, _SECTIONS[name], value, base)
        else:
            raise ConfigError(name, f"unknown section; known: {', '.join([*_SECTIONS, 'organisations'])}")
    cfg = BridgeConfig(**parts)
    if cfg.log.level != cfg.log.level.upper():
        cfg = dataclasses.replace(cfg, log=dataclasses.replace(cfg.log, level=cfg.log.level.upper()))
    _validate(cfg)
    return cfg


def load_config(path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read and validate a TOML config file (None: defaults only), overlaid with env (default: os.environ)."""
    env = os.environ if env is None else env
    if path is None:
        return parse_config({}, Path.cwd(), env)
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config", f"{p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{p} is not valid TOML: {exc}") from None
    return parse_config(raw, p.resolve().parent, env)


def check_files(cfg: BridgeConfig, env: Mapping[str, str] | None = None) -> None:
    """Check what the running bridge needs from the machine: readable TLS and key files, passwords set."""
    env = os.environ if env is None else env
    for name in ("tls_ca", "tls_cert", "tls_key"):
        value = getattr(cfg.broker, name)
        if value and not os.access(value, os.R_OK):
            raise ConfigError(f"broker.{name}", f"{value} is not a readable file")
    if cfg.broker.password_env and cfg.broker.password_env not in env:
        raise ConfigError("broker.password_env", f"environment variable {cfg.broker.password_env} is not set")
    for org, oc in cfg.organisations.items():
        if not os.access(oc.key_file, os.R_OK):
            raise ConfigError(f"organisations.{org}.key_file", f"{oc.key_file} is not a readable file")
        if oc.password_env not in env:
            raise ConfigError(f"organisations.{org}.password_env", f"environment variable {oc.password_env} is not set")
    parent = Path(cfg.outbox.path).parent
    if parent.exists() and not os.access(parent, os.W_OK):
        raise ConfigError("outbox.path", f"{parent} is not writable")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def to_toml(cfg: BridgeConfig) -> str:
    """cfg as a TOML document that load_config reads back to an equal config (paths written absolute)."""
    lines: list[str] = []
    for name in _SECTIONS:
        section = getattr(cfg, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        lines.append("")
    for org, oc in cfg.organisations.items():
        lines.append(f"[organisations.{_toml_key(org)}]")
        lines.append(f"key_file = {_toml_value(oc.key_file)}")
        lines.append(f"password_env = {_toml_value(oc.password_env)}")
        lines.append("")
    return "\n".join(lines)
