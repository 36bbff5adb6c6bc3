"""Turn every expected failure into one clear line and exit code 2, never a traceback."""
from __future__ import annotations

import sys
from typing import Any

import click

from chain.crypto.errors import CryptoError

EXPECTED: tuple[type[BaseException], ...] = (CryptoError, OSError, ValueError)


class ChainGroup(click.Group):
    """A click group whose commands report known errors as `error: ...` lines."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except click.Abort:
            raise
        except EXPECTED as exc:
            code = getattr(exc, "code", type(exc).__name__)
            click.echo(f"error: {exc} [{code}]", err=True)
            sys.exit(2)


def register_expected(*types: type[BaseException]) -> None:
    """Let another package's exception hierarchy be reported as a clear error."""
    global EXPECTED
    EXPECTED = EXPECTED + tuple(t for t in types if t not in EXPECTED)
