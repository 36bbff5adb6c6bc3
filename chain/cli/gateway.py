"""`chain gateway run`: the HTTP gateway in front of one or more nodes."""
from __future__ import annotations

from pathlib import Path

import click

from chain.cli.password import get_password, password_file_option


@click.group()
def gateway() -> None:
    """The REST gateway (/v1, OpenAPI at /v1/openapi.json)."""


@gateway.command("run")
@click.option("--node", "nodes", multiple=True, required=True, help="A node's client address host:port (repeat for failover).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--custody-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Directory of encrypted *.key files the gateway signs with for their users.")
@click.option("--threads", default=48, show_default=True, type=click.IntRange(4, 1024), help="Threads per worker process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing the port (one per core you give the gateway).")
@password_file_option
def run(nodes: tuple[str, ...], host: str, port: int, custody_dir: Path | None, threads: int, workers: int,
        password_file: Path | None) -> None:
    """Serve the gateway.  Example: chain gateway run --node 127.0.0.1:7400 --node 127.0.0.1:7401"""
    from chain.gateway.app import GatewayConfig
    from chain.gateway.nodes import parse_address
    from chain.gateway.server import run as serve

    for address in nodes:
        try:
            parse_address(address)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--node") from None
    password = get_password(password_file) if custody_dir is not None else None
    click.echo(f"gateway: http://{host}:{port}/v1  (OpenAPI: http://{host}:{port}/v1/openapi.json)")
    serve(GatewayConfig(list(nodes), custody_dir, password), host, port, threads, workers)
