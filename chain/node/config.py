"""Node configuration (JSON file): where its key and ledgers live and where it listens."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.json_file import read_json_object
from chain.ledger.errors import LedgerError, ResultCode


class ConfigError(LedgerError):
    """The node configuration is missing a field or holds a bad value."""

    result = ResultCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class LedgerEntry:
    """One hosted ledger: a name clients use and its database directory."""

    name: str
    path: Path


@dataclass(frozen=True)
class NodeConfig:
    """Everything `chain node run` needs."""

    base: Path
    node_key: Path
    host: str
    port: int
    ledgers: tuple[LedgerEntry, ...]
    block_interval_ms: int | None = None
    password_file: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        """Read and validate a config file; relative paths are relative to the file."""
        file = Path(path)
        data = read_json_object(file, ConfigError, "node config")
        base = file.resolve().parent

        def need(name: str, kind: type) -> object:
            value = data.get(name)
            if not isinstance(value, kind):
                raise ConfigError(f"{file}: field {name!r} is missing or not a {kind.__name__}")
            return value

        listen = str(need("listen", str))
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{file}: 'listen' must be host:port, got {listen!r}")
        ledgers = []
        entries: list[Any] = need("ledgers", list)  # type: ignore[assignment]
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("path"), str):
                raise ConfigError(f"{file}: ledgers[{i}] needs a 'name' and a 'path'")
            ledgers.append(LedgerEntry(entry["name"], base / entry["path"]))
        if not ledgers:
            raise ConfigError(f"{file}: at least one ledger is needed")
        if len({l.name for l in ledgers}) != len(ledgers):
            raise ConfigError(f"{file}: ledger names must be unique")
        interval = data.get("block_interval_ms")
        if interval is not None and (not isinstance(interval, int) or interval <= 0):
            raise ConfigError(f"{file}: 'block_interval_ms' must be a positive integer")
        pw = data.get("password_file")
        return cls(base, base / str(need("node_key", str)), host, int(port), tuple(ledgers), interval,
                   base / pw if isinstance(pw, str) else None)
