"""`rolecall keys create|list|limits|revoke|usage`: gateway API keys (printed once, stored hashed),
their team and limits, and what each one used."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from rolecall.limits.policy import LimitSpec
    from rolecall.storage.keys import ApiKeyRecord, SqlApiKeys
    from rolecall.storage.sql import SqlStorage
    from rolecall.storage.usage import AppUsage

keys_app = typer.Typer(help="Manage gateway API keys.", no_args_is_help=True)

Team = Annotated[str | None, typer.Option(help="the team of keys the key belongs to")]
BudgetUsd = Annotated[float | None, typer.Option(help="USD the key may spend per window")]
BudgetTokens = Annotated[int | None, typer.Option(help="tokens the key may use per window")]
Per = Annotated[
    str | None, typer.Option(help="the budgets' window: day, month (UTC) or rolling:SECONDS")
]
Rpm = Annotated[int | None, typer.Option(help="requests per minute")]
Tpm = Annotated[int | None, typer.Option(help="tokens per minute (prompt + output)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _storage() -> SqlStorage:
    from rolecall.files import private_dir
    from rolecall.settings import load_settings
    from rolecall.storage.sql import open_storage

    settings = load_settings()
    private_dir(settings.data_dir)
    return open_storage(settings.effective_database_url)


def _limits(team: str | None, options: dict[str, Any]) -> tuple[str | None, LimitSpec]:
    """The team and limits of the options; a clear error naming the option otherwise."""
    from rolecall.limits.spec import LimitInputError, parse_spec, parse_team

    try:
        values = {name: value for name, value in options.items() if value is not None}
        return parse_team(team), parse_spec(values)
    except LimitInputError as exc:
        typer.echo(f"error: --{exc.field.replace('_', '-')}: {exc.message}", err=True)
        raise typer.Exit(2) from None


def _announce(storage: SqlStorage) -> None:
    """Tell running gateways now (they would notice within a second anyway)."""
    from rolecall.cluster.node import announce
    from rolecall.cluster.sharing import KEYS
    from rolecall.settings import load_settings

    announce(storage, load_settings().redis_url, KEYS)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="a label for the key")] = "default",
    team: Team = None,
    budget_usd: BudgetUsd = None,
    budget_tokens: BudgetTokens = None,
    per: Per = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
) -> None:
    """Create a key and print it once on stdout (it is stored only as a hash)."""
    from rolecall.gateway.auth import create_api_key

    options = {"budget_usd": budget_usd, "budget_tokens": budget_tokens, "per": per}
    team, spec = _limits(team, {**options, "rpm": rpm, "tpm": tpm})
    storage = _storage()
    try:
        record, key = create_api_key(storage.keys, name, team=team, limits=spec)
        _announce(storage)
    finally:
        storage.close()
    typer.echo(key)
    typer.echo(
        f"created {record.key_id} ({name}){_described(record)}; store the key now, it is not "
        "shown again",
        err=True,
    )


@keys_app.command("limits")
def set_limits(
    key_id: Annotated[str, typer.Argument(help="the key id from 'keys list'")],
    team: Team = None,
    budget_usd: BudgetUsd = None,
    budget_tokens: BudgetTokens = None,
    per: Per = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
) -> None:
    """Replace a key's team and limits (no option: no limits); gateways apply them within a
    second."""
    options = {"budget_usd": budget_usd, "budget_tokens": budget_tokens, "per": per}
    team, spec = _limits(team, {**options, "rpm": rpm, "tpm": tpm})
    _change_key(key_id, lambda keys: keys.set_limits(key_id, team, spec))
    typer.echo(f"updated {key_id}: {_limits_text(team, spec) or 'no limits'}")


@keys_app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """List keys: id, name, prefix, created, state, team and limits."""
    storage = _storage()
    try:
        records = storage.keys.all()
    finally:
        storage.close()
    if as_json:
        typer.echo(json.dumps({"keys": [_key_json(r) for r in records]}, indent=2))
        return
    for r in records:
        created = datetime.fromtimestamp(r.created_ms / 1000, UTC).isoformat(timespec="seconds")
        state = "revoked" if r.revoked_ms is not None else "active"
        limits = _limits_text(r.team, r.limits) or "-"
        typer.echo(f"{r.key_id}\t{r.name}\t{r.prefix}…\t{created}\t{state}\t{limits}")


def _key_json(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "name": record.name,
        "prefix": record.prefix,
        "created_ms": record.created_ms,
        "revoked_ms": record.revoked_ms,
        "state": "revoked" if record.revoked_ms is not None else "active",
        "team": record.team,
        "limits": record.limits.to_dict(),
    }


@keys_app.command("usage")
def usage(
    since: Annotated[
        str, typer.Option(help="month or day (the current UTC one), or a date: 2026-12-01")
    ] = "month",
    key_id: Annotated[str | None, typer.Option("--key", help="one key only")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What each key used since the start of the month (or --since): requests, tokens, USD."""
    since_ms = _since_ms(since)
    storage = _storage()
    try:
        names = {r.key_id: r for r in storage.keys.all()}
        rows = storage.usage.by_app(since_ms, key_id)
    finally:
        storage.close()
    if as_json:
        typer.echo(
            json.dumps(
                {"since_ms": since_ms, "keys": [_usage_json(row, names) for row in rows]}, indent=2
            )
        )
        return
    if not rows:
        shown = datetime.fromtimestamp(since_ms / 1000, UTC).isoformat(timespec="seconds")
        typer.echo(f"no requests since {shown}")
    for row in rows:
        record = names.get(row.app_id)
        name = record.name if record is not None else "(no key)"
        budget = _limits_text(None, record.limits) if record is not None else ""
        typer.echo(
            f"{row.app_id}\t{name}\t{row.requests} requests\t"
            f"{row.tokens_in + row.tokens_out} tokens\t{row.cost_usd:.6f} USD\t{budget or '-'}"
        )


def _usage_json(row: AppUsage, names: dict[str, ApiKeyRecord]) -> dict[str, Any]:
    record = names.get(row.app_id)
    return {
        "key_id": row.app_id,
        "name": record.name if record is not None else None,
        "requests": row.requests,
        "tokens_in": row.tokens_in,
        "tokens_out": row.tokens_out,
        "cost_usd": row.cost_usd,
        "limits": record.limits.to_dict() if record is not None else None,
    }


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key id from 'keys list'")]) -> None:
    """Revoke a key; requests with it are refused within seconds."""
    _change_key(key_id, lambda keys: keys.revoke(key_id))
    typer.echo(f"revoked {key_id}")


def _change_key(key_id: str, change: Callable[[SqlApiKeys], bool]) -> None:
    """Apply ``change`` to an active key and tell running gateways; exit 1 if there is none."""
    storage = _storage()
    try:
        ok = change(storage.keys)
        if ok:
            _announce(storage)
    finally:
        storage.close()
    if not ok:
        typer.echo(f"error: no active key {key_id!r}; see 'rolecall keys list'", err=True)
        raise typer.Exit(1)


def _since_ms(since: str) -> int:
    """The start of the current UTC month or day, or the moment given (UTC unless it says)."""
    if since in ("day", "month"):
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if since == "month":
            start = start.replace(day=1)
        return int(start.timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        message = f"expected month, day or a date such as 2026-12-01, got {since!r}"
        typer.echo(f"error: --since: {message}", err=True)
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _described(record: ApiKeyRecord) -> str:
    text = _limits_text(record.team, record.limits)
    return f" with {text}" if text else ""


def _limits_text(team: str | None, spec: LimitSpec) -> str:
    shown = spec.to_dict()
    parts = [f"team={team}"] if team else []
    parts += [f"{name}={value}" for name, value in shown.items()]
    return " ".join(parts)
