"""``GET /v1/models``, ``GET /v1/models/{id}`` and the discovery endpoint: what clients can ask
for, and safe limits.

Ids are aliases, role ids and endpoint ids (which may hold dots and slashes, so the route takes
the rest of the path); a ``rolecall/`` prefix is accepted as in a chat request's ``model``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.context import services_of
from rolecall.gateway.responses import json_response
from rolecall.gateway.targets import alias_ids, resolve_target
from rolecall.gateway.wire import WireError, shown
from rolecall.inventory.inventory import Endpoint


def _entry(model_id: str, kind: str, created: int) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": "rolecall",
        "rolecall": {"kind": kind},
    }


def _entries(request: Request) -> list[dict[str, Any]]:
    services = services_of(request)
    created = services.started_ms // 1000
    inventory = services.routing.inventory
    data = [_entry(a, "alias", created) for a in alias_ids()]
    data += [_entry(r, "role", created) for r in sorted(inventory.roles)]
    data += [_entry(e, "endpoint", created) for e in sorted(inventory.endpoints)]
    return data


async def list_models(request: Request) -> Response:
    return json_response(orjson.dumps({"object": "list", "data": _entries(request)}))


async def retrieve_model(request: Request) -> Response:
    """One model object, or OpenAI's 404 (``model_not_found``) for an id nobody can ask for."""
    asked = request.path_params["model_id"]
    name = asked.removeprefix("rolecall/")
    for entry in _entries(request):
        if entry["id"] == name:
            return json_response(orjson.dumps(entry))
    raise WireError(
        404,
        f"The model {shown(asked)} does not exist: GET /v1/models lists the aliases, roles and "
        "endpoints a request may name",
        param="model",
        code="model_not_found",
    )


async def discovery(request: Request) -> Response:
    """Per alias and role: conservative aggregate limits over the endpoints it can route to now."""
    services = services_of(request)
    now = time.time_ns() // 1_000_000
    routable = {c.endpoint_id for c in services.routing.candidates(now) if c.status == "active"}
    endpoints = [
        e for e in services.routing.inventory.endpoints.values() if e.endpoint_id in routable
    ]
    out = []
    for model_id in [*alias_ids(), *sorted(services.routing.inventory.roles)]:
        target = resolve_target(model_id, services.routing.inventory)
        pool = [e for e in endpoints if _in_scope(e, target.scope)]
        out.append({"id": model_id, "execution_scope": target.scope, **_limits(pool)})
    return json_response(orjson.dumps({"object": "list", "data": out}))


def _in_scope(endpoint: Endpoint, scope: str) -> bool:
    if scope == "local_only":
        return endpoint.is_local
    if scope == "remote_only":
        return not endpoint.is_local
    return True


def _limits(pool: list[Endpoint]) -> dict[str, Any]:
    """Limits safe for every endpoint in the pool (minimums), and what at least one offers."""
    if not pool:
        return {"routable_endpoints": 0}
    outputs = [e.max_output_tokens for e in pool if e.max_output_tokens]
    return {
        "routable_endpoints": len(pool),
        "context_window": min(e.declared.max_context_tokens for e in pool),
        "max_output_tokens": min(outputs) if outputs else None,
        "input_modalities": sorted(set.intersection(*(set(e.declared.modalities) for e in pool))),
        "tools": all(e.declared.tool_calling.supported for e in pool),
        "tools_available": any(e.declared.tool_calling.supported for e in pool),
        "endpoints": [
            {"endpoint_id": e.endpoint_id, "model": e.model, "local": e.is_local} for e in pool
        ],
    }
