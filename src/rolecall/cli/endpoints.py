"""`rolecall endpoints list|discover`: the configured endpoints; what a server serves, added to
the inventory with ``--add``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rolecall.inventory.inventory import Endpoint

endpoints_app = typer.Typer(help="List, discover and add endpoints.", no_args_is_help=True)
ConfigOpt = Annotated[
    Path, typer.Option(help="inventory file (ROLECALL_CONFIG)", envvar="ROLECALL_CONFIG")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(endpoints_app, name="endpoints")


@endpoints_app.command("list")
def list_endpoints(config: ConfigOpt = Path("rolecall.yaml"), as_json: JsonOpt = False) -> None:
    """The inventory file's endpoints as the gateway would route to them (catalog prices and
    limits filled in), and what is wrong with the file (unset variables, unknown roles)."""
    from rolecall.inventory.config import load_inventory_file, require_inventory_file
    from rolecall.inventory.load import configured_inventory

    require_inventory_file(config)
    inventory = configured_inventory(load_inventory_file(config))
    rows = [_endpoint_json(e) for e in inventory.endpoints.values()]
    if as_json:
        typer.echo(json.dumps({"endpoints": rows, "problems": list(inventory.problems)}, indent=2))
        return
    for row in rows:
        price = row["input_per_1m"]
        cost = "price unknown" if price is None else f"${price:.3f}/1M input tokens"
        state = "" if row["enabled"] else "\tdisabled"
        where = "local" if row["local"] else "remote"
        typer.echo(
            f"{row['endpoint_id']}\t{row['provider']}\t{row['model']}\t{where}\t{cost}{state}"
        )
    for problem in inventory.problems:
        typer.echo(f"warning: {problem}", err=True)


def _endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint.endpoint_id,
        "provider": endpoint.provider_name,
        "kind": endpoint.provider.kind,
        "base_url": endpoint.provider.base_url,
        "model": endpoint.model,
        "local": endpoint.is_local,
        "enabled": endpoint.enabled,
        "context_window": endpoint.declared.max_context_tokens,
        "input_per_1m": endpoint.input_per_1m,
        "output_per_1m": endpoint.output_per_1m,
    }


@endpoints_app.command("discover")
def discover(
    url: Annotated[str, typer.Argument(help="server URL, e.g. http://127.0.0.1:8080")],
    add: Annotated[bool, typer.Option("--add", help="append to the inventory file")] = False,
    provider: Annotated[str | None, typer.Option(help="provider name when adding")] = None,
    config: ConfigOpt = Path("rolecall.yaml"),
    as_json: JsonOpt = False,
) -> None:
    """List the models an OpenAI-compatible, llama.cpp or Ollama server serves."""
    from rolecall.inventory.discovery import add_to_inventory
    from rolecall.inventory.discovery import discover as find

    found = find(url)
    result: dict[str, Any] = {"kind": found.kind, "base_url": found.base_url}
    result["models"] = list(found.models)
    if not as_json:
        typer.echo(f"{found.kind} at {found.base_url}: {len(found.models)} models")
        for model in found.models:
            typer.echo(f"  {model}")
    if add:
        name = provider or (found.kind if found.kind != "openai_compatible" else "openai-compat")
        count = add_to_inventory(config, name, found)
        result["added"] = {"provider": name, "endpoints": count, "config": str(config)}
        if not as_json:
            typer.echo(f"added provider {name!r} and {count} endpoints to {config}")
    if as_json:
        typer.echo(json.dumps(result, indent=2))
