"""The admin API under ``/api`` (admin token): endpoints, decisions, request records, cooldowns;
gateway keys and their limits (`rolecall.gateway.keys_api`); usage per key, team, user and tag
(`rolecall.gateway.usage_api`)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway import alarms_api, keys_api, usage_api
from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj, page_params, query
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, int_param


async def endpoints(request: Request) -> Response:
    services = services_of(request)
    now = time.time_ns() // 1_000_000
    out: list[dict[str, Any]] = []
    for endpoint_id, e in services.routing.inventory.endpoints.items():
        cooldown = services.routing.cooldowns.active(endpoint_id, now)
        profile = services.routing.profiles.get(endpoint_id)
        out.append(
            {
                "endpoint_id": endpoint_id,
                "provider": e.provider_name,
                "model": e.model,
                "local": e.is_local,
                "identity": e.identity.to_artifact(),
                "declared": e.declared.to_artifact(),
                "price_per_1m": {"input": e.input_per_1m, "output": e.output_per_1m},
                "observed": profile.to_artifact() if profile else None,
                "cooldown": None
                if cooldown is None
                else {
                    "level": cooldown.level,
                    "until_ms": cooldown.until_ms,
                    "remaining_ms": cooldown.until_ms - now,
                    "reason": cooldown.reason,
                    "failures": cooldown.failures,
                },
            }
        )
    return json_response(orjson.dumps({"data": out}))


async def decisions(request: Request) -> Response:
    services = services_of(request)
    await services.recorder.flushed()
    limit = int_param(request, "limit", 50, 500)
    offset = int_param(request, "offset", 0, 10_000_000)
    items = services.storage.decisions.recent(
        limit=limit, offset=offset, endpoint_id=request.query_params.get("endpoint_id")
    )
    return json_response(orjson.dumps({"data": items, "total": services.storage.decisions.count()}))


async def decision(request: Request) -> Response:
    services = services_of(request)
    await services.recorder.flushed()
    found = services.storage.decisions.get(request.path_params["decision_id"])
    if found is None:
        raise WireError(404, "no such decision", code="not_found", kind="not_found_error")
    return json_response(orjson.dumps(found))


async def decision_plan(request: Request) -> Response:
    """How a decision's routing mode planned it (difficulty, controller, arbitration); 404 when
    the decision is unknown, ``{"plan": null}`` when its mode planned nothing."""
    services = services_of(request)
    await services.recorder.flushed()
    decision_id = request.path_params["decision_id"]
    if services.storage.decisions.get(decision_id) is None:
        raise WireError(404, "no such decision", code="not_found", kind="not_found_error")
    plan = services.storage.decisions.plan(decision_id)
    return json_response(orjson.dumps({"routing_decision_id": decision_id, "plan": plan}))


async def request_record(request: Request) -> Response:
    """Everything stored for one request (by its id, or the client's ``x-request-id``): spans,
    events, usage, who it was for, the feedback on it and, only when prompt capture kept it,
    its prompt."""
    services = services_of(request)
    await services.recorder.flushed()
    request_id, usage = services.storage.usage.lookup(request.path_params["request_id"])
    if not usage:
        raise WireError(404, "no such request", code="not_found", kind="not_found_error")
    body = {
        "request_id": request_id,
        "usage": usage,
        "spans": services.storage.traces.spans_for(request_id),
        "events": services.storage.traces.events_for(request_id),
        "identity": services.storage.usage.identity_for(request_id),
        "feedback": [r.to_json() for r in services.storage.feedback.for_request(request_id)],
    }
    prompt = services.storage.prompts.get(request_id)
    if prompt is not None:
        body["prompt"] = prompt.to_json()
    return json_response(orjson.dumps(body))


async def cooldowns(request: Request) -> Response:
    services = services_of(request)
    now = time.time_ns() // 1_000_000
    items = [
        {
            "endpoint_id": c.endpoint_id,
            "level": c.level,
            "until_ms": c.until_ms,
            "remaining_ms": max(0, c.until_ms - now),
            "active": c.active(now),
            "reason": c.reason,
            "failures": c.failures,
        }
        for c in services.routing.cooldowns.all()
    ]
    return json_response(orjson.dumps({"data": items}))


async def clear_cooldown(request: Request) -> Response:
    services = services_of(request)
    cleared = services.routing.cooldowns.clear(request.path_params["endpoint_id"])
    return json_response(orjson.dumps({"cleared": cleared}))


ROUTES = [
    ("/api/endpoints", endpoints, ["GET"]),
    ("/api/decisions", decisions, ["GET"]),
    ("/api/decisions/{decision_id}", decision, ["GET"]),
    ("/api/decisions/{decision_id}/plan", decision_plan, ["GET"]),
    ("/api/requests/{request_id}", request_record, ["GET"]),
    ("/api/cooldowns", cooldowns, ["GET"]),
    ("/api/cooldowns/{endpoint_id}", clear_cooldown, ["DELETE"]),
    *keys_api.ROUTES,
    *usage_api.ROUTES,
    *alarms_api.ROUTES,
]

COOLDOWN = obj("endpoint_id", "level", "until_ms", "remaining_ms", "reason", "failures")
OPERATIONS = [
    Operation(
        "get",
        "/api/endpoints",
        "Every endpoint: identity, declared and observed profiles, cooldown",
        "admin_token",
        obj("data", data=array(obj("endpoint_id", "provider", "model", "local", "cooldown"))),
    ),
    Operation(
        "get",
        "/api/decisions",
        "Recent routing decisions, newest first",
        "admin_token",
        obj("data", "total", data=array(), total={"type": "integer"}),
        params=[*page_params(), query("endpoint_id", {"type": "string"})],
        errors=(400,),
    ),
    Operation(
        "get",
        "/api/decisions/{decision_id}",
        "One routing decision",
        "admin_token",
        obj("routing_decision_id"),
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/decisions/{decision_id}/plan",
        "How the decision's routing mode planned it: the classified difficulty and its "
        "signals, the controller's directives (applied, rejected), the hybrid arbitration, each "
        "candidate's difficulty advisory; null for the baseline and learned modes",
        "admin_token",
        obj("routing_decision_id", "plan"),
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/requests/{request_id}",
        "Everything stored for one request (by its id or the client's x-request-id): usage, "
        "spans, events, identity, feedback, and its prompt when prompt capture kept it",
        "admin_token",
        obj("request_id", "usage", "spans", "events"),
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/cooldowns",
        "Every cooldown, active or not",
        "admin_token",
        obj("data", data=array(COOLDOWN)),
    ),
    Operation(
        "delete",
        "/api/cooldowns/{endpoint_id}",
        "End an endpoint's cooldown",
        "admin_token",
        obj("cleared", cleared={"type": "boolean"}),
    ),
    *keys_api.OPERATIONS,
    *usage_api.OPERATIONS,
    *alarms_api.OPERATIONS,
]
