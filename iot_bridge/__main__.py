"""``python -m iot_bridge [--config FILE] run|check-config``: the bridge process and its config checker."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from iot_bridge.config import BridgeConfig, ConfigError, check_files, load_config, to_toml


def _load(config: Path | None) -> BridgeConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        click.echo(f"error: {exc} [config]", err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="IOT_BRIDGE_CONFIG",
              default=None, help="TOML config file (env IOT_BRIDGE_CONFIG); IOT_BRIDGE_<SECTION>_<FIELD> overrides.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """The IoT bridge: MQTT device messages -> verified, durable outbox -> transactions on chain."""
    ctx.obj = config_path


@cli.command("check-config")
@click.option("--print", "show", is_flag=True, help="Print the effective configuration as TOML.")
@click.pass_obj
def check_config(config_path: Path | None, show: bool) -> None:
    """Validate the config file, overrides and the files/env variables it names; exit 2 on the first problem."""
    cfg = _checked(config_path)
    if show:
        click.echo(to_toml(cfg))
    else:
        click.echo(json.dumps({"ok": True, "broker": f"{cfg.broker.host}:{cfg.broker.port}", "tls": cfg.tls,
                               "outbox": cfg.outbox.path, "http": cfg.http.listen,
                               "organisations": sorted(cfg.organisations)}, sort_keys=True))


@cli.command()
@click.pass_obj
def run(config_path: Path | None) -> None:
    """Run the bridge until SIGTERM/SIGINT (graceful: received messages are stored and acknowledged first)."""
    from iot_bridge.service import BridgeService, configure_logging

    cfg = _checked(config_path)
    configure_logging(cfg.log.level, cfg.log.format)
    BridgeService(cfg).run_forever()


def _checked(config_path: Path | None) -> BridgeConfig:
    """The configuration, with the files and env variables it names checked; exit 2 on the first problem."""
    cfg = _load(config_path)
    try:
        check_files(cfg)
    except ConfigError as exc:
        click.echo(f"error: {exc} [config]", err=True)
        sys.exit(2)
    return cfg


def main() -> None:
    cli(prog_name="python -m iot_bridge")


if __name__ == "__main__":
    main()
