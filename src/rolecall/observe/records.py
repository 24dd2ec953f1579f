"""Builds the records of one request: trace spans and events, the usage event, live samples.

Pure functions over what the gateway measured; every artifact is a role-model JSON object joined by
``request_id``, ``routing_decision_id`` and ``trace_id``. Spans and events are built the way their
`RequestTrace` stores them, without the join ids it holds once (`RequestTrace.full_spans` gives the
whole artifacts back). Tests validate each against its schema.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rolecall.execution.executor import Attempt, Outcome
from rolecall.inventory.inventory import Endpoint, endpoint_version
from rolecall.profiles import Sample
from rolecall.routing import Decision
from rolecall.storage.trace_rows import RequestTrace

_ids = random.Random()  # seeded from the OS once; ids need uniqueness, not secrecy


def new_id(nbytes: int = 8) -> str:
    """A random hex id (``secrets`` would cost a system call per id on the hot path)."""
    return f"{_ids.getrandbits(nbytes * 8):0{nbytes * 2}x}"


@dataclass(slots=True)
class RequestRecord:
    """What the gateway observed about one request."""

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
    spans: list[dict[str, Any]] = field(default_factory=list)


def _span(
    r: RequestRecord, span_type: str, start: int, end: int, status: str, **attrs: Any
) -> dict[str, Any]:
    """A span as a `RequestTrace` holds it: without the join ids its trace row keeps once."""
    span = {
        "span_id": new_id(),
        "span_type": span_type,
        "started_at_ms": start,
        "ended_at_ms": max(start, end),
        "status": status,
        "attributes": {k: v for k, v in attrs.items() if v is not None},
    }
    return span


def build_spans(r: RequestRecord) -> list[dict[str, Any]]:
    """The request's spans, without the join ids (see `_span`)."""
    d = r.decision
    eligible = sum(1 for _, ex in d.eligibility if not ex)
    spans = [
        _span(
            r,
            "router.eligibility",
            r.started_ms,
            r.decided_ms,
            "ok",
            candidates=len(d.eligibility),
            eligible=eligible,
        ),
        _span(
            r,
            "router.scoring",
            r.started_ms,
            r.decided_ms,
            "ok",
            strategy=d.context.policy.strategy,
            scored=len(d.ranked),
        ),
        _span(
            r,
            "router.selection",
            r.started_ms,
            r.decided_ms,
            "ok" if d.ranked else "error",
            chosen_endpoint_id=d.chosen_endpoint_id or None,
            fallbacks=len(d.fallback_endpoint_ids),
        ),
    ]
    outcome = r.outcome
    if outcome is not None:
        for attempt in outcome.attempts:
            spans.extend(_attempt_spans(r, attempt))
        if not outcome.ok:
            failure = outcome.failure
            spans.append(
                _span(
                    r,
                    "request.failure",
                    r.decided_ms,
                    r.ended_ms,
                    "error",
                    error_class=failure.failure if failure else None,
                )
            )
    return spans


def _attempt_spans(r: RequestRecord, a: Attempt) -> list[dict[str, Any]]:
    status = "ok" if a.failure is None else "error"
    error = a.failure.failure if a.failure else None
    spans = []
    if a.retry:
        spans.append(
            _span(
                r,
                "router.retry",
                a.started_ms,
                a.ended_ms,
                status,
                endpoint_id=a.endpoint_id,
                error_class=error,
            )
        )
    elif a.endpoint_id != r.decision.chosen_endpoint_id:
        spans.append(
            _span(
                r,
                "router.fallback",
                a.started_ms,
                a.ended_ms,
                status,
                endpoint_id=a.endpoint_id,
                error_class=error,
            )
        )
    end = a.ended_ms if a.first_byte_ms is None else a.first_byte_ms
    spans.append(
        _span(
            r,
            "provider.prefill",
            a.started_ms,
            end,
            status,
            endpoint_id=a.endpoint_id,
            error_class=error,
            http_status=a.failure.status if a.failure else None,
        )
    )
    if a.first_byte_ms is not None:
        decode_status = "error" if r.stream_error else "ok"
        spans.append(
            _span(
                r,
                "provider.decode",
                a.first_byte_ms,
                r.ended_ms,
                decode_status,
                endpoint_id=a.endpoint_id,
                error_class=r.stream_error,
                tokens_out=r.tokens_out,
            )
        )
    return spans


def final_endpoint_id(r: RequestRecord) -> str:
    if r.outcome is not None and r.outcome.endpoint is not None:
        return r.outcome.endpoint.endpoint_id
    if r.outcome is not None and r.outcome.attempts:
        return r.outcome.attempts[-1].endpoint_id
    return r.decision.chosen_endpoint_id or "none"


def error_class(r: RequestRecord) -> str | None:
    if r.outcome is None:
        return None if r.decision.chosen_endpoint_id else "no_eligible_endpoint"
    if r.outcome.failure is not None:
        return r.outcome.failure.failure
    return r.stream_error


def build_usage(r: RequestRecord) -> dict[str, Any]:
    endpoint_id = final_endpoint_id(r)
    endpoint = r.endpoints.get(endpoint_id)
    usage: dict[str, Any] = {
        "event_id": new_id(),
        "timestamp_ms": r.ended_ms,
        "app_id": r.app_id,
        "request_id": r.request_id,
        "routing_decision_id": r.decision.routing_decision_id,
        "endpoint_id": endpoint_id,
        "provider_kind": endpoint.identity.provider_kind if endpoint else "none",
        "tokens_in": r.tokens_in,
        "tokens_out": r.tokens_out,
        "latency_ms": float(r.ended_ms - r.started_ms),
        "sample_source": "live_request",
    }
    if endpoint is not None:
        usage["model_id"] = endpoint.model
        estimate = endpoint.request_cost(r.estimated_tokens_in, 0)
        actual = endpoint.request_cost(r.tokens_in, r.tokens_out)
        if estimate is not None:
            usage["cost_estimate"] = estimate
            usage["currency"] = "USD"
        if actual is not None and r.outcome is not None and r.outcome.ok:
            usage["cost_actual"] = actual
    err = error_class(r)
    if err is not None:
        usage["error_class"] = err
    return usage


def build_trace(r: RequestRecord, usage: Mapping[str, Any], samples: int) -> RequestTrace:
    """The request's spans and events, as stored."""
    return RequestTrace(
        r.request_id,
        r.trace_id,
        r.decision.routing_decision_id,
        r.started_ms,
        build_spans(r),
        build_events(r, usage, samples),
    )


def build_events(r: RequestRecord, usage: Mapping[str, Any], samples: int) -> list[dict[str, Any]]:
    """The request's events, without the join ids (as `_span`)."""
    d = r.decision
    return [
        {
            "event_id": new_id(),
            "timestamp_ms": r.decided_ms,
            "event_type": "router.decision.created",
            "payload": {
                "chosen_endpoint_id": d.chosen_endpoint_id,
                "fallback_endpoint_ids": list(d.fallback_endpoint_ids),
            },
        },
        {
            "event_id": new_id(),
            "timestamp_ms": r.ended_ms,
            "event_type": "usage.event.created",
            "payload": {"usage_event_id": usage["event_id"]},
        },
        {
            "event_id": new_id(),
            "timestamp_ms": r.ended_ms,
            "event_type": "profile.sample.recorded",
            "payload": {"samples": samples},
        },
    ]


def build_samples(r: RequestRecord) -> list[Sample]:
    """One live sample per attempt: failures are reliability evidence for the endpoint that failed."""
    if r.outcome is None:
        return []
    samples = []
    for a in r.outcome.attempts:
        endpoint = r.endpoints.get(a.endpoint_id)
        if endpoint is None:
            continue
        ok = a.failure is None
        end = r.ended_ms if (ok and a.first_byte_ms is not None) else a.ended_ms
        latency = float(max(0, end - a.started_ms))
        tps = None
        if ok and r.tokens_out and end > a.started_ms:
            tps = r.tokens_out / ((end - a.started_ms) / 1000)
        samples.append(
            Sample(
                endpoint_id=a.endpoint_id,
                endpoint_version=endpoint_version(endpoint.identity),
                source="live_request",
                timestamp_ms=end,
                latency_ms=latency,
                tokens_per_sec=tps,
                cost_per_1k_tokens=endpoint.cost_per_1k_tokens,
                cost_usd=endpoint.request_cost(r.tokens_in, r.tokens_out) if ok else None,
                error_class=None if ok else a.failure.failure,  # type: ignore[union-attr]
            )
        )
    return samples
