"""The `rolecall` command line: one module per command group, each command a few lines over a use case.

`main` is the entry point: it loads the ``.env`` files, runs the command, and turns a known
failure into one error line and an exit status (`rolecall.cli.failures`).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from rolecall import __version__
from rolecall.cli import (
    bench,
    config,
    conformance,
    demo,
    endpoints,
    keys,
    lab,
    route,
    run,
    serve,
    upstream,
)
from rolecall.providers.local.cli_local import local_app

app = typer.Typer(
    name="rolecall",
    help="Self-hosted LLM routing runtime (role-model protocol).",
    no_args_is_help=True,
    add_completion=False,
)
route.register(app)
bench.register(app)
conformance.register(app)
serve.register(app)
keys.register(app)
upstream.register(app)
endpoints.register(app)
run.register(app)
demo.register(app)
lab.register(app)
config.register(app)
app.add_typer(local_app, name="local")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rolecall {__version__}")
        raise typer.Exit


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback of a failure (also ROLECALL_DEBUG=1)."),
    ] = False,
) -> None:
    """Self-hosted LLM routing runtime (role-model protocol)."""
    if debug:
        os.environ["ROLECALL_DEBUG"] = "1"  # processes the command starts (workers) inherit it


@app.command()
def version() -> None:
    """Print the rolecall version."""
    typer.echo(__version__)


def main() -> None:
    from rolecall.cli.failures import debug_enabled, describe
    from rolecall.settings import load_env_files

    try:
        load_env_files()
        app()
    except Exception as exc:
        described = describe(exc)
        if described is None or debug_enabled():
            raise
        status, message = described
        typer.echo(f"error: {message}", err=True)
        sys.exit(status)
