"""`rolecall serve`: run the gateway (OpenAI-compatible proxy + admin API) on 127.0.0.1:3456."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rolecall.services import Services
    from rolecall.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str | None, typer.Option(help="listen address (ROLECALL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port (ROLECALL_PORT)")] = None,
    config: Annotated[Path | None, typer.Option(help="inventory file (ROLECALL_CONFIG)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="data directory (ROLECALL_DATA_DIR)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, max=256, help="gateway processes behind the port (ROLECALL_WORKERS; 0: auto)"
        ),
    ] = None,
) -> None:
    """Start the gateway and print its URL and the admin token location."""
    from rolecall.cli.workers import worker_count
    from rolecall.gateway.server import listening_sockets
    from rolecall.inventory.config import require_inventory_file
    from rolecall.settings import load_settings

    settings = load_settings(
        host=host, port=port, config=config, data_dir=data_dir, workers=workers
    )
    require_inventory_file(settings.config)  # without one the gateway has nothing to serve
    start_logging(settings)
    count = worker_count(settings)
    # before anything else: a port in use is one clear error (rolecall.cli.failures), and
    # nothing was started
    sockets = listening_sockets(settings, count)
    if count > 1:
        serve_workers(settings, sockets)
    else:
        _serve_one(settings, sockets)


def start_logging(settings: Settings) -> None:
    """This process's log handler, once, before anything logs (`rolecall.telemetry.logs`)."""
    from rolecall.telemetry.logs import configure_logging, write_before_sigterm

    write_before_sigterm(configure_logging(settings.log_level, settings.log_format))


def _serve_one(settings: Settings, sockets: list[socket.socket]) -> None:
    from rolecall.bootstrap import build_services

    services = build_services(settings)
    _banner(settings, sockets, len(services.routing.inventory.endpoints))
    for problem in services.routing.inventory.problems:
        typer.echo(f"warning: {problem}", err=True)
    serve_services(services, sockets=sockets)


def serve_workers(
    settings: Settings,
    sockets: list[socket.socket],
    *,
    extra_inventory: dict[str, Any] | None = None,
) -> None:
    """Serve with one worker process per socket in ``sockets`` until stopped
    (`rolecall.cli.workers`); ends the command with its exit status."""
    from rolecall.bootstrap import prepare_shared, spool_directory
    from rolecall.cli.workers import Supervisor, WorkersError

    inventory = prepare_shared(settings, extra_inventory=extra_inventory)
    try:
        supervisor = Supervisor(
            settings,
            sockets,
            spool_dir=spool_directory(settings),
            extra_inventory=extra_inventory,
        )
    except WorkersError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _banner(settings, sockets, len(inventory.endpoints))
    for problem in inventory.problems:
        typer.echo(f"warning: {problem}", err=True)
    try:
        code = supervisor.run()
    except WorkersError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def _banner(settings: Settings, sockets: list[socket.socket], endpoints: int) -> None:
    processes = f", {len(sockets)} workers" if len(sockets) > 1 else ""
    port = sockets[0].getsockname()[1]  # the one chosen, when asked for port 0
    typer.echo(
        f"rolecall gateway on http://{settings.host}:{port}/v1 "
        f"({endpoints} endpoints, storage {_backend(settings)}{processes})"
    )


def serve_services(
    services: Services,
    *,
    sockets: list[socket.socket] | None = None,
    on_serving: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Serve the gateway and console over built services until the process is stopped, on
    ``sockets`` when given (bound already) and after calling ``on_serving`` once started."""
    from rolecall.bootstrap import build_app, tune_gc_for_serving
    from rolecall.gateway.server import build_server

    # this process only serves: the collector's settings are its own to choose
    services.lifecycle.on_start.append(tune_gc_for_serving)
    if on_serving is not None:
        services.lifecycle.on_start.append(on_serving)
    server, _edge = build_server(build_app(services), services.settings)
    server.run(sockets=sockets)


def _backend(settings: object) -> str:
    url = getattr(settings, "effective_database_url", "")
    return "PostgreSQL" if str(url).startswith("postgresql") else "SQLite"
