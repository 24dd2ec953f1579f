"""``POST /v1/embeddings``: route to an embedder, embed in batches with retry and fallback, record.

The chat path's steps (`rolecall.gateway.chat`) on an embeddings body: check it
(`rolecall.gateway.embeddings_wire`) → `Router.decide` for the ``embeddings.text`` task (the
``embedder`` role unless the request names another; only endpoints that declare the
``embeddings.text`` capability are eligible, so chat routing and embeddings routing never pick
each other's endpoints) → the executor's `embed` (the input split into each endpoint's batches,
one reply merged in order, usage summed) → the reply with the decision and endpoint headers →
the same records as chat (decision, spans, usage event with the input tokens and the cost).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

import orjson

from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.tracecontext import TraceContext
from rolecall.gateway.chat import (
    ChatReply,
    admitted,
    body_too_large,
    cost_text,
    failure_reply,
    not_executed,
    over_budget_reply,
    request_identity,
    settle,
)
from rolecall.gateway.chat_asgi import Caller, FrontDoor
from rolecall.gateway.embeddings_wire import (
    EmbeddingsRequest,
    encode_reply,
    parse_embeddings_request,
)
from rolecall.gateway.targets import Bounds, Target, resolve_target
from rolecall.gateway.wire import WireError, shown, token_count
from rolecall.inventory.inventory import EMBEDDINGS_CAPABILITY, Inventory
from rolecall.observe.observation import RequestRecord, new_id
from rolecall.routing import RoutingRequest
from rolecall.services import Services

EMBEDDINGS_PATH: Final = "/v1/embeddings"
EMBEDDINGS_TASK: Final = "embeddings.text"
EMBEDDER_ROLE: Final = "embedder"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def embeddings(
    services: Services, raw: bytes, request_headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    """Serve one embeddings request (raises `WireError` for a request the gateway refuses)."""
    if len(raw) > services.settings.max_body_bytes:
        raise body_too_large(services.settings.max_body_bytes)
    request = parse_embeddings_request(raw, request_headers)
    return await run_embeddings(services, request, request_headers, caller)


EMBEDDINGS_DOOR: Final = FrontDoor(EMBEDDINGS_PATH, embeddings)


def routing_request(
    request: EmbeddingsRequest, target: Target, inventory: Inventory, request_id: str, app_id: str
) -> RoutingRequest:
    """The router's view of an embeddings request: the ``embeddings.text`` capability required
    whatever the role or task, the longest input as the context it needs, and the target's
    posture (scope, endpoint subset, strategy, budget) narrowed by the request's options as on
    chat. A target's chat task does not apply: the task is an embeddings one."""
    hints = request.hints
    default_role = EMBEDDER_ROLE if EMBEDDER_ROLE in inventory.roles else None
    role_id = hints.role or target.role_id or default_role
    if role_id is not None and role_id not in inventory.roles:
        raise WireError(
            400, f"unknown role {shown(role_id)}", param="rolecall.role", code="unknown_role"
        )
    target_task = target.task if target.task and target.task.startswith("embeddings.") else None
    task = hints.task or target_task or EMBEDDINGS_TASK
    if task not in inventory.tasks:
        raise WireError(
            400, f"unknown task {shown(task)}", param="rolecall.task", code="unknown_task"
        )
    bounds = Bounds.of(target, hints, inventory)
    return RoutingRequest(
        request_id=request_id,
        app_id=app_id,
        task_type=task,
        requested_role_id=role_id,
        required_capabilities=(EMBEDDINGS_CAPABILITY,),
        required_modalities=("text",),
        context_tokens=request.context_tokens,
        strategy=bounds.strategy,
        prefer_local=hints.prefer_local,
        budget_limit=bounds.budget,
        deny_remote=bounds.deny_remote,
        allow_endpoints=bounds.allow_endpoints,
        deny_endpoints=bounds.deny_endpoints,
    )


async def run_embeddings(
    services: Services,
    request: EmbeddingsRequest,
    request_headers: Mapping[str, str],
    caller: Caller,
) -> ChatReply:
    """Route, execute and record a checked embeddings request on one routing view."""
    started = _now_ms()
    view = services.routing.view
    inventory = view.inventory
    target = resolve_target(request.model, inventory)
    routing = routing_request(request, target, inventory, caller.request_id, caller.app_id)
    decision = view.router.decide(
        routing,
        view.candidates(started),
        inventory.roles.values(),
        inventory.tasks.values(),
        inventory.bindings,
    )
    trace = TraceContext.inbound(
        request_headers.get("traceparent"), request_headers.get("tracestate"), new_id(16)
    )
    record = RequestRecord(
        request_id=caller.request_id,
        trace_id=trace.trace_id,
        app_id=caller.app_id,
        decision=decision,
        started_ms=started,
        decided_ms=_now_ms(),
        ended_ms=0,
        outcome=None,
        endpoints=inventory.endpoints,
        estimated_tokens_in=request.prompt_tokens_estimate,
        parent_span_id=trace.parent_id,
        sampled=trace.sampled,
        body={"model": request.model},  # the inputs are the client's data: not kept
        identity=request_identity(request.identity, caller.key, caller.client_request_id),
    )
    headers = {
        "x-rolecall-decision-id": decision.routing_decision_id,
        "x-rolecall-request-id": caller.request_id,
    }
    unexecuted, panic = not_executed(services, record, target.scope, headers)
    if unexecuted is not None:
        return unexecuted
    gate, panic = await admitted(services, caller.key, request, record, panic)
    if gate.refused is not None:
        return over_budget_reply(services, record, gate, headers)
    outcome = await services.executor.embed(
        record.decision, request.body, inventory.endpoints, panic=panic, trace=trace
    )
    record.outcome = outcome
    if outcome.panic:
        headers["x-rolecall-panic"] = "true"
    body_bytes = b""
    if outcome.ok:
        try:
            body_bytes = orjson.dumps(encode_reply(outcome.response or {}, request.encoding_format))
        except (ValueError, TypeError) as exc:  # vectors that are not numbers: garbage
            outcome.failure = UpstreamFailure("bad_response", 200, f"upstream reply: {exc}")
    if not outcome.ok:
        return failure_reply(services, gate, record, outcome, headers)
    assert outcome.endpoint is not None
    headers["x-rolecall-endpoint"] = outcome.endpoint.endpoint_id
    headers["x-rolecall-model"] = outcome.endpoint.model
    usage = (outcome.response or {}).get("usage")
    tokens_in = token_count(usage.get("prompt_tokens")) if isinstance(usage, dict) else None
    record.tokens_in = tokens_in or request.prompt_tokens_estimate
    record.ended_ms = _now_ms()
    settle(services, gate, record, outcome)
    services.recorder.record(record)
    cost = outcome.endpoint.request_cost(record.tokens_in, 0)
    if cost is not None:
        headers["x-rolecall-cost-usd"] = cost_text(cost)
    return ChatReply(200, headers, body_bytes)
