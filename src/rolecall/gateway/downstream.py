"""``GET /api/role-model/downstream/openai``: role-model's downstream discovery contract
(``role-model.downstream.openai.v1``), so its clients (the Pi and Codex adapters) can set
rolecall up as their OpenAI-compatible provider.

The document names the base URL and routes, whether a bearer key is required, and one record per
requestable name: configured aliases, fixed postures and roles (``type: alias``), upstream model
names (``model``) and endpoints (``endpoint``). Each record carries the conservative limits of
its current pool (`rolecall.gateway.model_pools`: narrowed by role bindings, scope and the
alias's subset), the input modalities and capabilities every endpoint guarantees and those only
some offer (with which), tools, structured output and reasoning availability, and the endpoints
as a client may see them (never a URL, a key or a key's variable).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.context import services_of
from rolecall.gateway.model_pools import (
    REASONING,
    STRUCTURED,
    Listed,
    Pools,
    listed_names,
    posture,
    public_endpoint,
)
from rolecall.gateway.responses import json_response
from rolecall.inventory.inventory import Endpoint, Inventory

PATH: Final = "/api/role-model/downstream/openai"
CONTRACT: Final = "role-model.downstream.openai.v1"
RECORD_TYPES: Final = {
    "alias": "alias",
    "posture": "alias",
    "role": "alias",
    "model": "model",
    "endpoint": "endpoint",
}


async def downstream_openai(request: Request) -> Response:
    services = services_of(request)
    base = str(request.base_url).rstrip("/")
    pools = Pools(services.routing.view)
    inventory = pools.view.inventory
    names = listed_names(inventory)
    models = [_record(listed, pools) for listed in names]
    recommended = next((n.name for n in names if n.kind == "alias"), "default")
    document = {
        "contractVersion": CONTRACT,
        "kind": "openai-compatible",
        "providerId": "role-model-runtime",
        "displayName": "rolecall",
        "baseUrl": base,
        "endpoints": {
            "health": f"{base}/healthz",
            "models": f"{base}/v1/models",
            "chatCompletions": f"{base}/v1/chat/completions",
            "responses": f"{base}/v1/responses",
        },
        "authentication": _authentication(services.settings.require_api_key),
        "models": models,
        "setup": {
            "recommendedModel": recommended,
            "notes": [
                "Configure rolecall as an OpenAI-compatible provider at baseUrl + /v1.",
                "Each alias is a routing posture; the answer's model and the x-rolecall-model "
                "header name the upstream model that served it.",
                "Keep requests within piMapping's limits: they fit every endpoint the name can "
                "route to now.",
                "Send role_model.intent to hint a role and task; x-rolecall-intent reports what "
                "was used.",
            ],
        },
        "freshness": {
            "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "runtimeInventoryRevision": _revision(inventory),
        },
    }
    return json_response(orjson.dumps(document))


def _authentication(required: bool) -> dict[str, Any]:
    note = (
        "Send a rolecall API key (rolecall keys create) as 'Authorization: Bearer <key>'."
        if required
        else "This gateway does not check keys; any bearer value is accepted."
    )
    return {
        "type": "bearer",
        "headerName": "Authorization",
        "required": required,
        "placeholderToken": "rolecall-local",
        "note": note,
    }


def _record(listed: Listed, pools: Pools) -> dict[str, Any]:
    inventory = pools.view.inventory
    target = listed.target
    pool = pools.pool(target)
    declared = _declared(listed, inventory)
    safe_context = min((e.declared.max_context_tokens for e in pool), default=None)
    outputs = [e.max_output_tokens for e in pool if e.max_output_tokens]
    alias = inventory.aliases.get(listed.name) if listed.kind == "alias" else None
    record: dict[str, Any] = {
        "id": listed.name,
        "object": "model",
        "owned_by": "role-model",
        "type": RECORD_TYPES[listed.kind],
        "endpoint_ids": [e.endpoint_id for e in pool],
        "targetModelIds": sorted({e.model for e in declared}),
        "canonicalModelIds": [],
        "providerIds": sorted({e.identity.provider_kind for e in pool}),
        "limits": {
            "safeContextWindow": safe_context,
            "safeMaxOutputTokens": min(outputs, default=None),
            "maxContextWindow": max((e.declared.max_context_tokens for e in pool), default=None),
            "maxOutputTokens": max(outputs, default=None),
        },
        "modalities": _split(pool, lambda e: e.declared.modalities, "Input") | {"output": ["text"]},
        "capabilities": _capabilities(pool),
        "declared": {
            "modelIds": sorted({e.model for e in declared}),
            "endpointIds": [e.endpoint_id for e in declared],
        },
        "routable": {
            "modelIds": sorted({e.model for e in pool}),
            "endpointIds": [e.endpoint_id for e in pool],
        },
        "piMapping": {
            "contextWindow": safe_context,
            "maxTokens": min(outputs, default=None),
            "compat": {"supportsDeveloperRole": False},
        },
        "sources": ["rolecall.inventory"],
        "endpoints": [public_endpoint(e) for e in pool],
        "rolecall": {
            "kind": listed.kind,
            "posture": posture(target, inventory, alias.description if alias else None),
        },
    }
    if listed.kind != "endpoint":
        record["routingMode"] = target.mode or inventory.routing.mode
    else:
        record["upstream_model_id"] = inventory.endpoints[listed.name].model
    return record


def _declared(listed: Listed, inventory: Inventory) -> list[Endpoint]:
    """The endpoints a name routes over before readiness counts (all of them for a posture)."""
    ids = listed.target.endpoint_ids
    if ids is None:
        return list(inventory.endpoints.values())
    return [inventory.endpoints[e] for e in ids if e in inventory.endpoints]


def _split(pool: list[Endpoint], values: Any, suffix: str) -> dict[str, Any]:
    """What every endpoint has (``guaranteed``), what one has (``available``) and, for the
    latter, which endpoints and models (``conditional``)."""
    sets = [set(values(e)) for e in pool]
    guaranteed = sorted(set.intersection(*sets)) if sets else []
    available = sorted(set.union(*sets)) if sets else []
    conditional = {
        value: {
            "targetModelIds": sorted(
                {e.model for e, s in zip(pool, sets, strict=True) if value in s}
            ),
            "endpointIds": [e.endpoint_id for e, s in zip(pool, sets, strict=True) if value in s],
        }
        for value in available
        if value not in guaranteed
    }
    return {
        f"guaranteed{suffix}": guaranteed,
        f"available{suffix}": available,
        f"conditional{suffix}": conditional,
    }


def _capabilities(pool: list[Endpoint]) -> dict[str, Any]:
    split = _split(pool, lambda e: e.declared.capabilities, "")
    return {
        "guaranteed": split["guaranteed"],
        "available": split["available"],
        "conditional": split["conditional"],
        "tools": {"functionCalling": any(e.declared.tool_calling.supported for e in pool)},
        # rolecall knows no upstream's reasoning controls, so none are promised (a client told
        # otherwise sends reasoning parameters an upstream may refuse); ``multiStep`` says
        # whether every endpoint declares the multi-step reasoning capability
        "reasoning": {
            "supported": False,
            "effortControl": False,
            "effortLevels": [],
            "multiStep": bool(pool) and all(REASONING in e.declared.capabilities for e in pool),
        },
        "structuredOutput": {"supported": any(STRUCTURED in e.declared.capabilities for e in pool)},
        "caching": {"promptRead": None, "promptWrite": None, "source": "unknown"},
    }


def _revision(inventory: Inventory) -> str:
    """A digest of what the document is computed from (endpoints, their models, the aliases)."""
    facts = sorted((e.endpoint_id, e.model, e.enabled) for e in inventory.endpoints.values())
    aliases = sorted((n, a.model_dump_json()) for n, a in inventory.aliases.items())
    digest = hashlib.sha256(orjson.dumps([facts, aliases, inventory.routing.model_dump()]))
    return digest.hexdigest()[:16]
