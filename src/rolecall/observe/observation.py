"""What the gateway observed about one request, as plain data the record writer builds rows from.

The gateway fills a live `RequestRecord` (the decision, the executor's outcome, the inventory's
endpoints) while it serves; right after the response, `observe` reduces it to an `Observation`:
the decision artifact, the timings, the tokens and, per attempt, the few endpoint facts a record
needs (version, prices already applied). That is all the event loop does for records; spans,
events, the usage event and live samples are derived from it by `rolecall.observe.rows` in the
record writer (docs/performance.md).

Observations travel as orjson (slotted dataclasses encode natively) and come back with
`decode_observations`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rolecall.execution.executor import Attempt, Outcome
from rolecall.inventory.inventory import Endpoint, endpoint_version
from rolecall.observe.identity import RequestIdentity
from rolecall.observe.prompt_capture import captured_prompt
from rolecall.routing import Decision

__all__ = [
    "AttemptObservation",
    "Observation",
    "RequestIdentity",
    "RequestRecord",
    "decode_observations",
    "encode_observations",
    "final_endpoint_id",
    "new_id",
    "observe",
]

_ids = random.Random()  # seeded from the OS once; ids need uniqueness, not secrecy


def new_id(nbytes: int = 8) -> str:
    """A random hex id (``secrets`` would cost a system call per id on the hot path)."""
    return f"{_ids.getrandbits(nbytes * 8):0{nbytes * 2}x}"


@dataclass(slots=True)
class RequestRecord:
    """What the gateway is observing about one request, while it serves it."""

    request_id: str
    trace_id: str
    app_id: str
    decision: Decision
    started_ms: int
    decided_ms: int
    ended_ms: int
    outcome: Outcome | None
    endpoints: Mapping[str, Endpoint]
    tokens_in: int = 0
    tokens_out: int = 0
    estimated_tokens_in: int = 0
    stream_error: str | None = None
    refusal: str | None = None  # why it was turned away before executing (``budget_exceeded``)
    # the trace context the caller sent (docs/operate.md §OpenTelemetry): its span is the
    # parent of the request's, and an unsampled trace is not exported
    parent_span_id: str | None = None
    sampled: bool = True
    body: Mapping[str, Any] | None = None  # the parsed request (its model and parameters)
    identity: RequestIdentity | None = None  # who it was for, when the client or its key said
    status: int = 200  # the HTTP status answered (a stream cut later still answered 200)
    # the routing mode's plan (difficulty, controller, hybrid): stored beside the decision
    plan: dict[str, Any] | None = None
    # the Responses door's stored response (`StoredResponse.row()`: plain JSON-able values),
    # stored in the request's transaction so that it is as durable as its records
    stored_response: dict[str, Any] | None = None
    # how many characters of the prompt to store with the records (0: none; prompt capture,
    # `rolecall.observe.prompt_capture`): kept only if the request is answered
    capture_chars: int = 0


@dataclass(slots=True)
class AttemptObservation:
    """One try on one endpoint. ``endpoint_version`` is None when the endpoint is not in the
    inventory the request was served with (no live sample can then be keyed to it)."""

    endpoint_id: str
    endpoint_version: str | None
    cost_per_1k_tokens: float | None
    started_ms: int
    ended_ms: int
    retry: bool  # a same-endpoint retry of the previous attempt
    first_byte_ms: int | None = None
    error_class: str | None = None  # None: the attempt succeeded
    http_status: int | None = None
    # what a trace names the attempt by: its span (the parent its upstream saw), the endpoint's
    # upstream model, provider kind (as configured) and base URL (None without the endpoint)
    span_id: str | None = None
    model: str | None = None
    provider_kind: str | None = None
    base_url: str | None = None


@dataclass(slots=True)
class Observation:
    """A served request as records are built from it. ``endpoint_id`` is the endpoint that
    answered (or was tried last, or chosen; "none"); its ``provider_kind``, ``model`` and the
    request's costs at its prices (None without prices, or without the endpoint)."""

    request_id: str
    trace_id: str
    app_id: str
    role_id: str | None
    task_type: str
    decision: dict[str, Any]  # the RouterDecision artifact
    started_ms: int
    decided_ms: int
    ended_ms: int
    executed: bool  # False: decided only (decision_only scope, or no eligible endpoint)
    ok: bool
    error_class: str | None
    stream_error: str | None
    tokens_in: int
    tokens_out: int
    endpoint_id: str
    provider_kind: str
    model: str | None
    cost_estimate: float | None
    cost: float | None  # at the tokens used: the actual cost when ``ok``
    attempts: list[AttemptObservation] = field(default_factory=list)
    # executed on cooling endpoints because every one that could serve was cooling
    panic: bool = False
    parent_span_id: str | None = None  # the caller's span (W3C traceparent), if it sent one
    sampled: bool = True  # False: the caller's trace is not sampled (not exported)
    # what the client asked for: the model (an alias, role or endpoint) and its parameters
    requested_model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    # `RequestIdentity`'s fields (defaults: observations spooled before they existed decode)
    team: str | None = None
    client_request_id: str | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # the routing mode's plan (`RequestRecord.plan`)
    stored_response: dict[str, Any] | None = None  # `RequestRecord.stored_response`
    captured_prompt: dict[str, Any] | None = None  # `prompt_capture.captured_prompt`'s row


def observe(r: RequestRecord) -> Observation:
    """The plain facts of a finished request (the decision becomes its artifact here)."""
    decision = r.decision
    asked = decision.context.request
    outcome = r.outcome
    endpoint_id = final_endpoint_id(r)
    endpoint = r.endpoints.get(endpoint_id)
    attempts = [] if outcome is None else outcome.attempts
    return Observation(
        request_id=r.request_id,
        trace_id=r.trace_id,
        app_id=r.app_id,
        role_id=asked.requested_role_id,
        task_type=asked.task_type,
        decision=decision.to_artifact(),
        started_ms=r.started_ms,
        decided_ms=r.decided_ms,
        ended_ms=r.ended_ms,
        executed=outcome is not None,
        ok=outcome is not None and outcome.ok,
        error_class=_error_class(r),
        stream_error=r.stream_error,
        tokens_in=r.tokens_in,
        tokens_out=r.tokens_out,
        endpoint_id=endpoint_id,
        provider_kind=endpoint.identity.provider_kind if endpoint else "none",
        model=endpoint.model if endpoint else None,
        cost_estimate=endpoint.request_cost(r.estimated_tokens_in, 0) if endpoint else None,
        cost=endpoint.request_cost(r.tokens_in, r.tokens_out) if endpoint else None,
        attempts=[_attempt(r.endpoints.get(a.endpoint_id), a) for a in attempts],
        panic=outcome is not None and outcome.panic,
        parent_span_id=r.parent_span_id,
        sampled=r.sampled,
        plan=r.plan,
        stored_response=r.stored_response,
        captured_prompt=_captured(r) if r.capture_chars else None,
        **_asked(r.body),
        **_identity(r.identity),
    )


def _captured(r: RequestRecord) -> dict[str, Any] | None:
    """The prompt of an answered request (feedback and grades score answers: a failed or cut
    request's prompt would be kept for nothing)."""
    if r.outcome is None or not r.outcome.ok or r.stream_error is not None or r.body is None:
        return None
    return captured_prompt(r.request_id, r.body.get("messages"), r.capture_chars, r.started_ms)


def _asked(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request's model, temperature and output cap, where the client gave them as such."""
    if body is None:
        return {}
    model = body.get("model")
    temperature = body.get("temperature")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    return {
        "requested_model": model if isinstance(model, str) else None,
        "temperature": temperature if _number(temperature) else None,
        "max_tokens": max_tokens if _number(max_tokens) and isinstance(max_tokens, int) else None,
    }


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _identity(identity: RequestIdentity | None) -> dict[str, Any]:
    if identity is None:
        return {}
    return {
        "team": identity.team,
        "client_request_id": identity.client_request_id,
        "user": identity.user,
        "metadata": identity.metadata,
        "tags": list(identity.tags),
    }


def _attempt(endpoint: Endpoint | None, a: Attempt) -> AttemptObservation:
    failure = a.failure
    return AttemptObservation(
        endpoint_id=a.endpoint_id,
        endpoint_version=endpoint_version(endpoint.identity) if endpoint else None,
        cost_per_1k_tokens=endpoint.cost_per_1k_tokens if endpoint else None,
        started_ms=a.started_ms,
        ended_ms=a.ended_ms,
        retry=a.retry,
        first_byte_ms=a.first_byte_ms,
        error_class=failure.failure if failure else None,
        http_status=failure.status if failure else None,
        span_id=a.span_id,
        model=endpoint.model if endpoint else None,
        provider_kind=endpoint.provider.kind if endpoint else None,
        base_url=endpoint.provider.base_url if endpoint else None,
    )


def final_endpoint_id(r: RequestRecord) -> str:
    """The endpoint that answered, else the one tried last, else the one chosen ("none")."""
    outcome = r.outcome
    if outcome is not None and outcome.endpoint is not None:
        return outcome.endpoint.endpoint_id
    if outcome is not None and outcome.attempts:
        return outcome.attempts[-1].endpoint_id
    return r.decision.chosen_endpoint_id or "none"


def _error_class(r: RequestRecord) -> str | None:
    if r.outcome is None:
        if r.refusal is not None:
            return r.refusal
        return None if r.decision.chosen_endpoint_id else "no_eligible_endpoint"
    if r.outcome.failure is not None:
        return r.outcome.failure.failure
    return r.stream_error


def encode_observations(observations: list[Observation]) -> bytes:
    return orjson.dumps(observations)


def decode_observations(data: bytes) -> list[Observation]:
    """What `encode_observations` wrote (a missing or misnamed field raises TypeError)."""
    out = []
    for item in orjson.loads(data):
        attempts = [AttemptObservation(**a) for a in item.pop("attempts")]
        out.append(Observation(**item, attempts=attempts))
    return out
