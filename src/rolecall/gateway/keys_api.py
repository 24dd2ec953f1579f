"""The admin API for gateway keys and their limits (admin token), the same use cases as
`rolecall keys`:

* ``GET /api/keys`` → ``{"data": [{"key_id", "name", "prefix", "created_ms", "revoked_ms",
  "team", "limits"}]}`` (never a key or its hash)
* ``POST /api/keys`` ``{"name", "team", "budget_usd", "budget_tokens", "per", "rpm", "tpm"}`` →
  201 with the key itself (shown this once)
* ``PUT /api/keys/{key_id}/limits`` ``{"team", "budget_usd", ...}`` → the key, limits replaced
* ``DELETE /api/keys/{key_id}`` → ``{"revoked": true}``
* ``GET /api/keys/usage?since_ms=`` → what each key used (default: since the month began)
* ``GET /api/limits`` → the file's limits and where the counters live
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from rolecall.cluster.sharing import KEYS
from rolecall.gateway.auth import KeyChecker, create_api_key
from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj, query
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, int_param
from rolecall.gateway.wire_models import parse_body
from rolecall.limits.policy import LimitSpec
from rolecall.limits.spec import LimitInputError, parse_spec, parse_team
from rolecall.storage.keys import ApiKeyRecord

__all__ = ["OPERATIONS", "ROUTES", "KeyLimitsRequest", "NewKeyRequest"]


class KeyLimitsRequest(BaseModel):
    """A key's team and limits; an absent (or null) limit is no such limit."""

    model_config = ConfigDict(extra="forbid")

    team: str | None = None
    budget_usd: float | None = Field(default=None, description="USD per window")
    budget_tokens: int | None = Field(default=None, description="tokens per window")
    per: str | None = Field(default=None, description="day, month or rolling:SECONDS")
    rpm: int | None = Field(default=None, description="requests per minute")
    tpm: int | None = Field(default=None, description="tokens per minute")


class NewKeyRequest(KeyLimitsRequest):
    name: str = Field(default="default", min_length=1, max_length=200)


def _limits(body: KeyLimitsRequest) -> tuple[str | None, LimitSpec]:
    values = body.model_dump(exclude={"team", "name"}, exclude_none=True)
    try:
        return parse_team(body.team), parse_spec(values)
    except LimitInputError as exc:
        raise WireError(400, str(exc), param=exc.field, code="invalid_limits") from None


def key_view(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "name": record.name,
        "prefix": record.prefix,
        "created_ms": record.created_ms,
        "revoked_ms": record.revoked_ms,
        "team": record.team,
        "limits": record.limits.to_dict(),
    }


def _reply(body: Any, status: int = 200) -> Response:
    return json_response(orjson.dumps(body), status)


def _changed(request: Request) -> None:
    """The keys changed: this process checks them anew now, the others on the notice."""
    keys: KeyChecker = request.app.state.keys
    keys.refresh()
    services_of(request).node.feed.publish(KEYS)


async def list_keys(request: Request) -> Response:
    records = services_of(request).storage.keys.all()
    return _reply({"data": [key_view(r) for r in records]})


async def create_key(request: Request) -> Response:
    body = parse_body(NewKeyRequest, await request.body())
    team, spec = _limits(body)
    record, key = create_api_key(
        services_of(request).storage.keys, body.name, team=team, limits=spec
    )
    _changed(request)
    return _reply({**key_view(record), "key": key}, 201)


async def set_key_limits(request: Request) -> Response:
    body = parse_body(KeyLimitsRequest, await request.body())
    team, spec = _limits(body)
    keys = services_of(request).storage.keys
    key_id = request.path_params["key_id"]
    if not keys.set_limits(key_id, team, spec):
        raise _no_key(key_id)
    _changed(request)
    record = next(r for r in keys.all() if r.key_id == key_id)
    return _reply(key_view(record))


async def revoke_key(request: Request) -> Response:
    key_id = request.path_params["key_id"]
    if not services_of(request).storage.keys.revoke(key_id):
        raise _no_key(key_id)
    _changed(request)
    return _reply({"revoked": True})


async def key_usage(request: Request) -> Response:
    services = services_of(request)
    await services.recorder.flushed()
    since = int_param(request, "since_ms", _month_start_ms(), 2**53)
    rows = services.storage.usage.by_app(since)
    data = [
        {
            "app_id": u.app_id,
            "requests": u.requests,
            "tokens_in": u.tokens_in,
            "tokens_out": u.tokens_out,
            "cost_usd": u.cost_usd,
        }
        for u in rows
    ]
    return _reply({"since_ms": since, "data": data})


async def limits_status(request: Request) -> Response:
    limiter = services_of(request).limits
    scoped = limiter.scoped
    body = {
        "status": limiter.status(),
        "global": scoped.everyone.to_dict(),
        "teams": {name: spec.to_dict() for name, spec in scoped.teams.items()},
        "roles": {name: spec.to_dict() for name, spec in scoped.roles.items()},
        "default_output_tokens": scoped.default_output_tokens,
    }
    return _reply(body)


def _no_key(key_id: str) -> WireError:
    return WireError(404, f"no active key {key_id!r}", code="not_found", kind="not_found_error")


def _month_start_ms() -> int:
    now = datetime.fromtimestamp(time.time(), UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


ROUTES = [
    ("/api/keys", list_keys, ["GET"]),
    ("/api/keys", create_key, ["POST"]),
    ("/api/keys/usage", key_usage, ["GET"]),
    ("/api/keys/{key_id}/limits", set_key_limits, ["PUT"]),
    ("/api/keys/{key_id}", revoke_key, ["DELETE"]),
    ("/api/limits", limits_status, ["GET"]),
]

KEY: Final = obj("key_id", "name", "prefix", "created_ms", "team", "limits")
OPERATIONS = [
    Operation(
        "get",
        "/api/keys",
        "Gateway keys with their team and limits",
        "admin_token",
        obj("data", data=array(KEY)),
    ),
    Operation(
        "post",
        "/api/keys",
        "Create a key (shown once) with its team and limits",
        "admin_token",
        obj("key_id", "key"),
        status=201,
        body=NewKeyRequest,
        errors=(400,),
    ),
    Operation(
        "get",
        "/api/keys/usage",
        "Requests, tokens and USD per key since a time",
        "admin_token",
        obj("since_ms", "data", data=array(obj("app_id", "cost_usd"))),
        params=[query("since_ms", {"type": "integer", "minimum": 0})],
        errors=(400,),
    ),
    Operation(
        "put",
        "/api/keys/{key_id}/limits",
        "Replace a key's team and limits",
        "admin_token",
        KEY,
        body=KeyLimitsRequest,
        errors=(400, 404),
    ),
    Operation(
        "delete",
        "/api/keys/{key_id}",
        "Revoke a key",
        "admin_token",
        obj("revoked", revoked={"type": "boolean"}),
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/limits",
        "The file's limits and where the counters live",
        "admin_token",
        obj("status", "global", "teams", "roles"),
    ),
]
