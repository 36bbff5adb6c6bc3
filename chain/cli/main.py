"""Entry point of the `chain` console script."""
from __future__ import annotations

import logging

import click

from chain.cli.errors import ChainGroup


@click.group(cls=ChainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def cli(verbose: bool) -> None:
    """Consortium chain tools: keys, the consortium CA, and (as they land) nodes and ledgers.

    Every command prints `error: <reason> [<code>]` and exits with 2 on bad input.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from chain.cli.ca import ca
    from chain.cli.contract import contract
    from chain.cli.gateway import gateway
    from chain.cli.index import index
    from chain.cli.keys import keys
    from chain.cli.net import net
    from chain.cli.node import block, ledger, node, query, tx

    for group in (keys, ca, node, net, tx, query, block, ledger, contract, gateway, index):
        cli.add_command(group)


_register()


def main() -> None:
    """Run the CLI."""
    cli(prog_name="chain")


if __name__ == "__main__":
    main()
