"""The `rolecall` command line: one module per command group, each command a few lines over a use case."""

from __future__ import annotations

import typer

from rolecall import __version__
from rolecall.cli import bench, conformance, demo, endpoints, keys, lab, route, run, serve, upstream
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
app.add_typer(local_app, name="local")


@app.command()
def version() -> None:
    """Print the rolecall version."""
    typer.echo(__version__)


def main() -> None:
    app()
