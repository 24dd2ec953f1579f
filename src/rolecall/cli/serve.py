"""`rolecall serve`: run the gateway (OpenAI-compatible proxy + admin API) on 127.0.0.1:3456."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rolecall.errors import ConfigError

if TYPE_CHECKING:
    from rolecall.services import Services


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str | None, typer.Option(help="listen address (ROLECALL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port (ROLECALL_PORT)")] = None,
    config: Annotated[Path | None, typer.Option(help="inventory file (ROLECALL_CONFIG)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="data directory (ROLECALL_DATA_DIR)")
    ] = None,
) -> None:
    """Start the gateway and print its URL and the admin token location."""
    from rolecall.bootstrap import build_services
    from rolecall.settings import Settings

    given: dict[str, Any] = {"host": host, "port": port, "config": config, "data_dir": data_dir}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    try:
        services = build_services(settings)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"rolecall gateway on http://{settings.host}:{settings.port}/v1 "
        f"({len(services.routing.inventory.endpoints)} endpoints, storage {_backend(settings)})"
    )
    for problem in services.routing.inventory.problems:
        typer.echo(f"warning: {problem}", err=True)
    serve_services(services)


def serve_services(services: Services) -> None:
    """Serve the gateway and console over built services until the process is stopped."""
    from rolecall.bootstrap import build_app, tune_gc_for_serving
    from rolecall.gateway.server import build_server

    # this process only serves: the collector's settings are its own to choose
    services.lifecycle.on_start.append(tune_gc_for_serving)
    server, _edge = build_server(build_app(services), services.settings)
    server.run()


def _backend(settings: object) -> str:
    url = getattr(settings, "effective_database_url", "")
    return "PostgreSQL" if str(url).startswith("postgresql") else "SQLite"
