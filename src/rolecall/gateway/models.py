"""``GET /v1/models``, ``GET /v1/models/{id}`` and ``/v1/rolecall/discovery``: what clients can
ask for, with each name's posture and the limits safe for its pool (`rolecall.gateway.model_pools`).

Ids are configured aliases, fixed posture aliases, endpoint ids, roles and upstream model names
(ids may hold dots and slashes, so the route takes the rest of the path); a ``rolecall/`` or
``role-model/`` prefix is accepted as in a chat request's ``model``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.context import services_of
from rolecall.gateway.model_pools import Listed, Pools, find_listed, limits, listed_names, posture
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, shown


def model_entry(listed: Listed, pools: Pools, created: int) -> dict[str, Any]:
    """One OpenAI model object; ``rolecall`` says what the name is, routes with and can take."""
    inventory = pools.view.inventory
    alias = inventory.aliases.get(listed.name) if listed.kind == "alias" else None
    return {
        "id": listed.name,
        "object": "model",
        "created": created,
        "owned_by": "rolecall",
        "rolecall": {
            "kind": listed.kind,
            "posture": posture(listed.target, inventory, alias.description if alias else None),
            "limits": limits(pools.pool(listed.target)),
        },
    }


def _created(request: Request) -> int:
    return services_of(request).started_ms // 1000


async def list_models(request: Request) -> Response:
    pools = Pools(services_of(request).routing.view)
    created = _created(request)
    data = [model_entry(n, pools, created) for n in listed_names(pools.view.inventory)]
    return json_response(orjson.dumps({"object": "list", "data": data}))


async def retrieve_model(request: Request) -> Response:
    """One model object, or OpenAI's 404 (``model_not_found``) for an id nobody can ask for."""
    asked = request.path_params["model_id"]
    pools = Pools(services_of(request).routing.view)
    listed = find_listed(pools.view.inventory, asked)
    if listed is None:
        raise WireError(
            404,
            f"The model {shown(asked)} does not exist: GET /v1/models lists the aliases, roles, "
            "endpoints and model names a request may name",
            param="model",
            code="model_not_found",
        )
    return json_response(orjson.dumps(model_entry(listed, pools, _created(request))))


async def discovery(request: Request) -> Response:
    """Per alias, posture and role: the conservative limits over the endpoints it can route to
    now (the same figures ``/v1/models`` carries, flat)."""
    pools = Pools(services_of(request).routing.view)
    out = []
    for listed in listed_names(pools.view.inventory):
        if listed.kind in ("alias", "posture", "role"):
            entry = {"id": listed.name, "kind": listed.kind, "execution_scope": listed.target.scope}
            out.append(entry | limits(pools.pool(listed.target)))
    return json_response(orjson.dumps({"object": "list", "data": out}))
