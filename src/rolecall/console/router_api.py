"""Router: posture with a what-if preview, candidates per role, decisions, and the prompt box."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.bootstrap import Runtime
from rolecall.console.common import (
    flush,
    json_body,
    not_found,
    now_ms,
    reply,
    runtime_of,
)
from rolecall.console.state import (
    COMPUTE,
    SCOPES,
    STRATEGIES,
    ConsoleState,
    current_posture,
    modes_for,
    parse_posture,
    state_of,
)
from rolecall.console.whatif import case_replays, compare, replays_from
from rolecall.errors import ConfigError
from rolecall.gateway.chat import chat_completions
from rolecall.gateway.wire import WireError, int_param
from rolecall.inventory.baseline import DEFAULT_TASK, primary_task
from rolecall.routing import RoutingRequest

MAX_REPLAY: Final = 2000


def _state(request: Request) -> ConsoleState:
    return state_of(runtime_of(request))


async def posture(request: Request) -> Response:
    runtime = runtime_of(request)
    return reply(
        {
            "posture": current_posture(runtime.inventory).to_dict(),
            "choices": {
                "strategy": list(STRATEGIES),
                "execution_scope": list(SCOPES),
                "compute_preference": list(COMPUTE),
                "mode": [{"mode": m, "available": ok} for m, ok in modes_for(runtime).items()],
            },
        }
    )


async def _proposed(request: Request, runtime: Runtime) -> Any:
    body = await json_body(request)
    try:
        return parse_posture(body, current_posture(runtime.inventory), modes_for(runtime))
    except ConfigError as exc:
        raise WireError(400, str(exc), param=exc.path) from None


async def save_posture(request: Request) -> Response:
    runtime = runtime_of(request)
    proposed = await _proposed(request, runtime)
    _state(request).set_posture(runtime, proposed)
    return reply({"posture": proposed.to_dict(), "saved": True})


async def preview(request: Request) -> Response:
    runtime = runtime_of(request)
    await flush(runtime)
    limit = int_param(request, "limit", 500, MAX_REPLAY)
    proposed = await _proposed(request, runtime)
    inputs = await asyncio.to_thread(runtime.storage.analytics.replay_inputs, limit=limit)
    replays = replays_from(inputs)
    body = compare(
        runtime,
        replays,
        _state(request).base_policy,
        current_posture(runtime.inventory),
        proposed,
        runtime.pool.candidates(now_ms()),
    )
    cases, why_not = await asyncio.to_thread(case_replays)
    body["benchmark_cases"] = (
        compare(
            runtime,
            cases,
            _state(request).base_policy,
            current_posture(runtime.inventory),
            proposed,
            runtime.pool.candidates(now_ms()),
        )
        if cases
        else {"replayed": 0, "unavailable": why_not or "no benchmark cases"}
    )
    if "learned" in (proposed.mode, current_posture(runtime.inventory).mode):
        body["note"] = (
            "the learned mode's per-prompt estimates are not replayed (prompts are not stored): "
            "replays score quality from the endpoints' profiles"
        )
    body["proposed_posture"] = proposed.to_dict()
    body["source"] = "recent stored requests"
    return reply(body)


async def candidates(request: Request) -> Response:
    """The current ranking for each role (and for unroled traffic), with exclusions."""
    runtime = runtime_of(request)
    inv = runtime.inventory
    pool = runtime.pool.candidates(now_ms())
    targets: list[tuple[str | None, str]] = [(None, DEFAULT_TASK)]
    targets += [(r.role_id, primary_task(r)) for r in inv.roles.values()]
    out = []
    for role_id, task in targets:
        d = runtime.router.decide(
            RoutingRequest(
                request_id=f"candidates-{role_id or 'default'}",
                task_type=task,
                requested_role_id=role_id,
            ),
            pool,
            inv.roles.values(),
            inv.tasks.values(),
            inv.bindings,
        )
        art = d.to_artifact()
        out.append(
            {
                "role_id": role_id,
                "task_type": task,
                "ranked": [
                    {
                        "endpoint_id": s["endpoint_id"],
                        "total_score": s["total_score"],
                        "metrics": {k: v["value"] for k, v in s["metric_breakdown"].items()},
                        "sources": {k: v["source"] for k, v in s["metric_breakdown"].items()},
                    }
                    for s in art["scored_candidates"]
                ],
                "excluded": [e for e in art["eligibility"] if not e["eligible"]],
            }
        )
    return reply({"strategy": current_posture(inv).strategy, "roles": out})


def _decision_row(item: dict[str, Any]) -> dict[str, Any]:
    eligibility = item.get("eligibility") or []
    return {
        "routing_decision_id": item["routing_decision_id"],
        "request_id": item["request_id"],
        "created_ms": item["created_ms"],
        "chosen_endpoint_id": item.get("chosen_endpoint_id") or "",
        "fallbacks": len(item.get("fallback_endpoint_ids") or []),
        "strategy": (item.get("policy_snapshot") or {}).get("strategy"),
        "eligible": sum(1 for e in eligibility if e.get("eligible")),
        "candidates": len(eligibility),
        "selection_reasons": item.get("selection_reasons") or [],
        "used_measured": item.get("used_measured", False),
    }


async def decisions(request: Request) -> Response:
    runtime = runtime_of(request)
    await flush(runtime)
    outcome = request.query_params.get("outcome") or None
    if outcome not in (None, "routed", "no_endpoint"):
        raise WireError(400, "'outcome' must be 'routed' or 'no_endpoint'", param="outcome")
    items, total = runtime.storage.analytics.decision_page(
        limit=int_param(request, "limit", 50, 500),
        offset=int_param(request, "offset", 0, 10_000_000),
        endpoint_id=request.query_params.get("endpoint") or None,
        strategy=request.query_params.get("strategy") or None,
        outcome=outcome,
    )
    return reply({"data": [_decision_row(i) for i in items], "total": total})


def _evidence(runtime: Runtime, endpoint_id: str) -> dict[str, Any]:
    profile = runtime.pool.profiles.get(endpoint_id)
    endpoint = runtime.inventory.endpoints.get(endpoint_id)
    return {
        "observed_profile": profile.to_artifact() if profile else None,
        "declared": endpoint.declared.to_artifact() if endpoint else None,
        "price_per_1m": {"input": endpoint.input_per_1m, "output": endpoint.output_per_1m}
        if endpoint
        else None,
    }


async def decision_detail(request: Request) -> Response:
    runtime = runtime_of(request)
    await flush(runtime)
    found = runtime.storage.decisions.get(request.path_params["decision_id"])
    if found is None:
        raise not_found("decision")
    ids = {s["endpoint_id"] for s in found.get("scored_candidates") or []}
    return reply(
        {
            "decision": found,
            "facts": runtime.storage.analytics.fact_for(str(found["request_id"])),
            "evidence": {endpoint_id: _evidence(runtime, endpoint_id) for endpoint_id in ids},
        }
    )


async def prompt(request: Request) -> Response:
    """Send one real chat request through the gateway's own handler; return reply and decision."""
    body = await json_body(request)
    text = body.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise WireError(400, "'prompt' is required: the message to send", param="prompt")
    payload: dict[str, Any] = {
        "model": str(body.get("model") or "default"),
        "messages": [{"role": "user", "content": text}],
        "max_tokens": int(body.get("max_tokens") or 128),
        "stream": False,
    }
    raw = orjson.dumps(payload)
    try:
        answer_reply = await chat_completions(runtime_of(request), raw, {}, "console")
    except WireError as exc:
        return reply({"ok": False, "status": exc.status, "error": orjson.loads(exc.body())})
    answer = orjson.loads(answer_reply.body)
    headers = answer_reply.headers
    return reply(
        {
            "ok": answer_reply.status == 200,
            "status": answer_reply.status,
            "request_id": headers.get("x-rolecall-request-id"),
            "decision_id": headers.get("x-rolecall-decision-id"),
            "endpoint_id": headers.get("x-rolecall-endpoint"),
            "response": answer,
        }
    )
