"""`rolecall keys create|list|revoke`: gateway API keys (printed once, stored hashed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rolecall.storage.sql import SqlStorage

keys_app = typer.Typer(help="Manage gateway API keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _storage() -> SqlStorage:
    from rolecall.files import private_dir
    from rolecall.settings import Settings
    from rolecall.storage.sql import open_storage

    settings = Settings()
    private_dir(settings.data_dir)
    return open_storage(settings.effective_database_url)


def _announce(storage: SqlStorage) -> None:
    """Tell running gateways now (they would notice within a second anyway)."""
    from rolecall.cluster.node import announce
    from rolecall.cluster.sharing import KEYS
    from rolecall.settings import Settings

    announce(storage, Settings().redis_url, KEYS)


@keys_app.command("create")
def create(name: Annotated[str, typer.Argument(help="a label for the key")] = "default") -> None:
    """Create a key and print it once on stdout (it is stored only as a hash)."""
    from rolecall.gateway.auth import create_api_key

    storage = _storage()
    try:
        record, key = create_api_key(storage.keys, name)
        _announce(storage)
    finally:
        storage.close()
    typer.echo(key)
    typer.echo(
        f"created {record.key_id} ({name}); store the key now, it is not shown again", err=True
    )


@keys_app.command("list")
def list_keys() -> None:
    """List keys: id, name, prefix, created, revoked."""
    storage = _storage()
    try:
        records = storage.keys.all()
    finally:
        storage.close()
    for r in records:
        created = datetime.fromtimestamp(r.created_ms / 1000, UTC).isoformat(timespec="seconds")
        state = "revoked" if r.revoked_ms is not None else "active"
        typer.echo(f"{r.key_id}\t{r.name}\t{r.prefix}…\t{created}\t{state}")


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key id from 'keys list'")]) -> None:
    """Revoke a key; requests with it are refused within seconds."""
    storage = _storage()
    try:
        ok = storage.keys.revoke(key_id)
        if ok:
            _announce(storage)
    finally:
        storage.close()
    if not ok:
        typer.echo(f"error: no active key {key_id!r}; see 'rolecall keys list'", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
