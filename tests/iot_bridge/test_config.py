"""Config: TOML + IOT_BRIDGE_* overrides; every bad value is reported with its dotted field name."""
from __future__ import annotations

from pathlib import Path

import pytest

from iot_bridge.config import BridgeConfig, ConfigError, check_files, load_config, parse_config, to_toml

FULL = """
[broker]
host = "broker.example"
port = 8883
client_id = "bridge-org1"
session_expiry_s = 3600
tls_ca = "pki/ca.pem"
tls_cert = "pki/bridge.crt"
tls_key = "pki/bridge.key"

[topics]
prefix = "trace"

[outbox]
path = "var/outbox.sqlite"

[gateway]
url = "http://127.0.0.1:8080"

[organisations.org1]
key_file = "keys/org1.key"
password_env = "ORG1_PW"

[mapper]
spec = "some.package.iot:make_mapper"
options = { shipment = "S1", alert_above = "8.0" }

[batch]
intake_max = 200
intake_window_ms = 2

[http]
listen = "127.0.0.1:9200"
"""


def test_defaults() -> None:
    cfg = load_config(None, env={})
    assert cfg == parse_config({}, ".", {})
    assert cfg.broker.port == 1883 and cfg.broker.session_expiry_s == 86_400
    assert cfg.http.listen == "127.0.0.1:9108" and cfg.http.port == 9108
    assert not cfg.tls


def test_file_env_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(FULL)
    cfg = load_config(path, env={"IOT_BRIDGE_BROKER_PORT": "8884", "IOT_BRIDGE_HTTP_LISTEN": "127.0.0.1:9300",
                                 "UNRELATED": "x"})
    assert cfg.broker.port == 8884 and cfg.http.port == 9300
    assert cfg.broker.tls_ca == str(tmp_path / "pki/ca.pem")
    assert cfg.outbox.path == str(tmp_path / "var/outbox.sqlite")
    assert cfg.organisations["org1"].key_file == str(tmp_path / "keys/org1.key")
    assert cfg.mapper.options == {"shipment": "S1", "alert_above": "8.0"}
    assert cfg.tls
    again = tmp_path / "again.toml"
    again.write_text(to_toml(cfg))
    assert load_config(again, env={}) == cfg


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"broker": {"port": 0}}, "broker.port"),
        ({"broker": {"port": "x"}}, "broker.port"),
        ({"broker": {"port": True}}, "broker.port"),
        ({"broker": {"host": ""}}, "broker.host"),
        ({"broker": {"client_id": "a b"}}, "broker.client_id"),
        ({"broker": {"session_expiry_s": 0}}, "broker.session_expiry_s"),
        ({"broker": {"answer_qos": 2}}, "broker.answer_qos"),
        ({"broker": {"tls_cert": "c.pem"}}, "broker.tls_key"),
        ({"broker": {"tls_cert": "c.pem", "tls_key": "k.pem"}}, "broker.tls_ca"),
        ({"broker": {"colour": "red"}}, "broker.colour"),
        ({"broker": {"password_env": "1X"}}, "broker.password_env"),
        ({"topics": {"prefix": "tr#ce"}}, "topics.prefix"),
        ({"outbox": {"path": ""}}, "outbox.path"),
        ({"gateway": {"url": "ftp://x"}}, "gateway.url"),
        ({"organisations": {"org/1": {"key_file": "k", "password_env": "P"}}}, "organisations.org/1"),
        ({"organisations": {"org1": {"key_file": "k"}}}, "organisations.org1.password_env"),
        ({"organisations": {"org1": {"key_file": "k", "password_env": "P", "x": 1}}}, "organisations.org1.x"),
        ({"mapper": {"spec": "no-colon"}}, "mapper.spec"),
        ({"mapper": {"options": "x"}}, "mapper.options"),
        ({"batch": {"intake_max": 0}}, "batch.intake_max"),
        ({"batch": {"intake_window_ms": -1}}, "batch.intake_window_ms"),
        ({"batch": {"drain_in_flight": 0}}, "batch.drain_in_flight"),
        ({"http": {"listen": "9108"}}, "http.listen"),
        ({"log": {"level": "LOUD"}}, "log.level"),
        ({"log": {"format": "xml"}}, "log.format"),
        ({"nonsense": {}}, "nonsense"),
        ({"broker": 5}, "broker"),
    ],
)
def test_bad_values_name_their_field(raw: dict, field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, ".", {})
    assert exc.value.field == field
    assert str(exc.value).startswith(field + ":")


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"IOT_BRIDGE_BROKER_PORT": "eighty"}, "broker.port"),
        ({"IOT_BRIDGE_BROKER_COLOUR": "red"}, "IOT_BRIDGE_BROKER_COLOUR"),
        ({"IOT_BRIDGE_NOPE": "1"}, "IOT_BRIDGE_NOPE"),
    ],
)
def test_bad_env_overrides(env: dict, field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({}, ".", env)
    assert exc.value.field == field


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "missing.toml", env={})
    assert exc.value.field == "config"
    bad = tmp_path / "bad.toml"
    bad.write_text("[broker\nport=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})


def test_check_files(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(FULL)
    cfg = load_config(path, env={})
    with pytest.raises(ConfigError) as exc:
        check_files(cfg, env={})
    assert exc.value.field == "broker.tls_ca"
    (tmp_path / "pki").mkdir()
    for name in ("ca.pem", "bridge.crt", "bridge.key"):
        (tmp_path / "pki" / name).write_text("x")
    with pytest.raises(ConfigError) as exc:
        check_files(cfg, env={})
    assert exc.value.field == "organisations.org1.key_file"
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/org1.key").write_text("x")
    with pytest.raises(ConfigError) as exc:
        check_files(cfg, env={})
    assert exc.value.field == "organisations.org1.password_env"
    check_files(cfg, env={"ORG1_PW": "secret"})
    assert isinstance(cfg, BridgeConfig)
