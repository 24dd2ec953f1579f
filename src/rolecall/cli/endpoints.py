"""`rolecall endpoints discover URL [--add]`: list what a server serves, and add it to the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rolecall.errors import ConfigError

endpoints_app = typer.Typer(help="Discover and add endpoints.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(endpoints_app, name="endpoints")


@endpoints_app.command("discover")
def discover(
    url: Annotated[str, typer.Argument(help="server URL, e.g. http://127.0.0.1:8080")],
    add: Annotated[bool, typer.Option("--add", help="append to the inventory file")] = False,
    provider: Annotated[str | None, typer.Option(help="provider name when adding")] = None,
    config: Annotated[Path, typer.Option(help="inventory file", envvar="ROLECALL_CONFIG")] = Path(
        "rolecall.yaml"
    ),
) -> None:
    """List the models an OpenAI-compatible, llama.cpp or Ollama server serves."""
    from rolecall.inventory.discovery import add_to_inventory
    from rolecall.inventory.discovery import discover as find

    try:
        found = find(url)
        typer.echo(f"{found.kind} at {found.base_url}: {len(found.models)} models")
        for model in found.models:
            typer.echo(f"  {model}")
        if add:
            name = provider or (
                found.kind if found.kind != "openai_compatible" else "openai-compat"
            )
            count = add_to_inventory(config, name, found)
            typer.echo(f"added provider {name!r} and {count} endpoints to {config}")
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
