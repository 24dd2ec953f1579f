"""`rolecall upstream serve`: run the scripted OpenAI/Anthropic-compatible upstream (tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

upstream_app = typer.Typer(
    help="A scripted upstream for fault injection and load tests.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(upstream_app, name="upstream")


@upstream_app.command("serve")
def serve(
    script: Annotated[
        Path | None, typer.Option(help="YAML/JSON script (models, failures, rules)")
    ] = None,
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="listen port")] = 8089,
) -> None:
    """Serve scripted answers, latency, token rates and failures over real HTTP."""
    from rolecall.providers.scripted.cli import serve as run

    run(script, host, port)
