"""Where the CLI gets key passwords: --password-file, $CHAIN_KEY_PASSWORD, or a prompt."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

ENV_VAR = "CHAIN_KEY_PASSWORD"

password_file_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File whose first line is the key password (else ${ENV_VAR}, else a prompt).",
)


def get_password(password_file: Path | None, *, confirm: bool = False, what: str = "key password") -> bytes:
    """The password from the file, the environment, or an interactive prompt."""
    if password_file is not None:
        try:
            text = password_file.read_text().splitlines()
        except FileNotFoundError:
            raise click.BadParameter(f"{password_file} does not exist", param_hint="--password-file") from None
        if not text or not text[0]:
            raise click.BadParameter(f"{password_file} is empty", param_hint="--password-file")
        return text[0].encode()
    env = os.environ.get(ENV_VAR)
    if env:
        return env.encode()
    if not sys.stdin.isatty():
        raise click.UsageError(f"no password: pass --password-file or set ${ENV_VAR} (stdin is not a terminal)")
    value = click.prompt(what.capitalize(), hide_input=True, confirmation_prompt=confirm)
    if not value:
        raise click.UsageError("the password must not be empty")
    return str(value).encode()
