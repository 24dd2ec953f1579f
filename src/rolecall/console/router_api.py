"""Router: posture with a what-if preview, candidates per role, decisions, and the prompt box."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.console.api_spec import PostureRequest, PromptRequest
from rolecall.console.common import flush, not_found, now_ms, reply
from rolecall.console.outcomes import outcome_view
from rolecall.errors import ConfigError
from rolecall.gateway.chat import chat_completions
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import WireError, int_param
from rolecall.gateway.wire_models import parse_body
from rolecall.operator import Posture
from rolecall.operator.posture import COMPUTE, SCOPES, STRATEGIES
from rolecall.operator.preview import case_replays, replays_from
from rolecall.operator.preview import preview as preview_posture
from rolecall.operator.rankings import role_rankings
from rolecall.services import Services

MAX_REPLAY: Final = 2000


def config_error(exc: ConfigError) -> WireError:
    return WireError(400, str(exc), param=exc.path)


async def posture(request: Request) -> Response:
    operator = services_of(request).operator
    return reply(
        {
            "posture": operator.posture().to_dict(),
            "choices": {
                "strategy": list(STRATEGIES),
                "execution_scope": list(SCOPES),
                "compute_preference": list(COMPUTE),
                "mode": [{"mode": m, "available": ok} for m, ok in operator.modes.items()],
            },
        }
    )


async def _posture_body(request: Request) -> dict[str, Any]:
    checked = parse_body(PostureRequest, await request.body())
    return checked.model_dump(exclude_none=True)


async def _proposed(request: Request, services: Services) -> Posture:
    body = await _posture_body(request)
    try:
        return services.operator.proposed(body)
    except ConfigError as exc:
        raise config_error(exc) from None


async def save_posture(request: Request) -> Response:
    services = services_of(request)
    body = await _posture_body(request)
    try:
        saved = services.operator.set_posture(body)
    except ConfigError as exc:
        raise config_error(exc) from None
    return reply({"posture": saved.to_dict(), "saved": True})


async def preview(request: Request) -> Response:
    services = services_of(request)
    await flush(services)
    limit = int_param(request, "limit", 500, MAX_REPLAY)
    proposed = await _proposed(request, services)
    inputs = await asyncio.to_thread(services.storage.analytics.replay_inputs, limit=limit)
    await asyncio.to_thread(case_replays)  # loads the built-in suites once, off the loop
    view, base = services.routing.view, services.operator.base_policy
    replays = replays_from(inputs)
    return reply(
        preview_posture(view, base, proposed, replays, now_ms(), services.ceilings.estimates)
    )


async def candidates(request: Request) -> Response:
    """The current ranking for each role (and for unroled traffic), with exclusions, and each
    endpoint's difficulty ceiling (declared, or derived with each bucket's verdict)."""
    services = services_of(request)
    now = now_ms()
    body = role_rankings(services.routing.view, now)
    derived = services.ceilings.describe()
    body["ceilings"] = [
        {
            "endpoint_id": c.endpoint_id,
            "max_difficulty": c.max_difficulty,
            "source": c.ceiling_source,
            "evidence": derived.get(c.endpoint_id),
        }
        for c in services.routing.view.candidates(now)
    ]
    return reply(body)


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
    services = services_of(request)
    await flush(services)
    outcome = request.query_params.get("outcome") or None
    if outcome not in (None, "routed", "no_endpoint"):
        raise WireError(400, "'outcome' must be 'routed' or 'no_endpoint'", param="outcome")
    items, total = services.storage.analytics.decision_page(
        limit=int_param(request, "limit", 50, 500),
        offset=int_param(request, "offset", 0, 10_000_000),
        endpoint_id=request.query_params.get("endpoint") or None,
        strategy=request.query_params.get("strategy") or None,
        outcome=outcome,
    )
    return reply({"data": [_decision_row(i) for i in items], "total": total})


def _evidence(
    services: Services, endpoint_id: str, feedback: dict[str, Any], alarms: dict[str, Any]
) -> dict[str, Any]:
    profile = services.routing.profiles.get(endpoint_id)
    endpoint = services.routing.inventory.endpoints.get(endpoint_id)
    return {
        # live quality evidence now: the feedback on its answers and an open drift alarm
        "feedback": feedback.get(endpoint_id),
        "alarm": alarms.get(endpoint_id),
        "observed_profile": profile.to_artifact() if profile else None,
        "declared": endpoint.declared.to_artifact() if endpoint else None,
        "price_per_1m": {"input": endpoint.input_per_1m, "output": endpoint.output_per_1m}
        if endpoint
        else None,
    }


async def decision_detail(request: Request) -> Response:
    services = services_of(request)
    await flush(services)
    found = services.storage.decisions.get(request.path_params["decision_id"])
    if found is None:
        raise not_found("decision")
    ids = {s["endpoint_id"] for s in found.get("scored_candidates") or []}
    request_id = str(found["request_id"])
    facts = services.storage.analytics.fact_for(request_id)
    usage = services.storage.usage.for_request(request_id)
    spans = services.storage.traces.spans_for(request_id)
    feedback = services.storage.feedback.summary(sorted(ids))
    alarms = services.drift.alarms()["open"]
    return reply(
        {
            "decision": found,
            "plan": services.storage.decisions.plan(request.path_params["decision_id"]),
            "facts": facts,
            "outcome": outcome_view(facts, usage[0] if usage else None, found, spans),
            "evidence": {eid: _evidence(services, eid, feedback, alarms) for eid in ids},
            "feedback": [r.to_json() for r in services.storage.feedback.for_request(request_id)],
        }
    )


async def prompt(request: Request) -> Response:
    """Send one real chat request through the gateway's own handler; return reply and decision."""
    body = parse_body(PromptRequest, await request.body())
    payload: dict[str, Any] = {
        "model": body.model or "default",
        "messages": [{"role": "user", "content": body.prompt}],
        "max_tokens": body.max_tokens or 128,
        "stream": False,
    }
    raw = orjson.dumps(payload)
    try:
        answer_reply = await chat_completions(services_of(request), raw, {}, "console")
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
