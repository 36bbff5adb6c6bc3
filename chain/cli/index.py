"""`chain index sync|rebuild`: fill a ledger's SQL read model from a running node."""
from __future__ import annotations

import json
from typing import Callable

import click
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from chain.cli.errors import ChainGroup, register_expected
from chain.cli.node import _client, json_option, ledger_option, node_option
from chain.indexer.errors import IndexerError
from chain.indexer.source import NodeSource
from chain.indexer.sync import Indexer
from chain.node.client import NodeError

register_expected(IndexerError, NodeError)

DEFAULT_DB = "sqlite:///index.db"


def _options(command: Callable[..., None]) -> Callable[..., None]:
    command = json_option(command)
    command = click.option("--db", default=DEFAULT_DB, show_default=True,
                           help="SQLAlchemy URL of the read model, e.g. postgresql+psycopg://user@host/db.")(command)
    return node_option(ledger_option(command))  # type: ignore[no-any-return]


def _engine(db: str) -> Engine:
    try:
        return create_engine(db)
    except (SQLAlchemyError, ImportError) as exc:
        raise click.BadParameter(f"not a usable database URL: {exc}", param_hint="--db") from None


def _run(node: str, ledger: str, db: str, as_json: bool, action: Callable[[Indexer], int]) -> None:
    engine = _engine(db)
    try:
        with _client(node) as client:
            indexer = Indexer(engine, NodeSource(client, ledger), ledger)
            count = action(indexer)
            mark = indexer.checkpoint()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(f"database {engine.url.render_as_string(hide_password=True)}: {detail}") from None
    finally:
        engine.dispose()
    height, block_hash = mark if mark is not None else (None, None)
    if as_json:
        click.echo(json.dumps({"ledger": ledger, "indexed": count, "height": height,
                               "block_hash": block_hash.hex() if block_hash is not None else None}))
    else:
        click.echo(f"ledger {ledger}: indexed {count} blocks; checkpoint at height {height}")


@click.group("index", cls=ChainGroup)
def index() -> None:
    """The SQL read model (blocks, transactions, events, accounts) of a ledger, built from committed blocks."""


@index.command("sync")
@_options
@click.option("--until", type=click.IntRange(min=0), default=None, help="Stop after this height (default: the node's head).")
def sync_command(node: str, ledger: str, db: str, as_json: bool, until: int | None) -> None:
    """Index every committed block after the checkpoint, one database transaction per block.

    Example: chain index sync --node 127.0.0.1:7400 --ledger main --db sqlite:///main.db
    """
    _run(node, ledger, db, as_json, lambda indexer: indexer.sync(until))


@index.command("rebuild")
@_options
def rebuild_command(node: str, ledger: str, db: str, as_json: bool) -> None:
    """Drop the read model's tables and index the ledger again from genesis."""
    _run(node, ledger, db, as_json, lambda indexer: indexer.rebuild())
