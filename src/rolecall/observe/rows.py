"""Builds the rows a request leaves from its `Observation`: spans, events, usage, live samples.

Pure functions, normally run in the record writer process (the gateway's event loop only observes).
Every artifact is a role-model JSON object joined by ``request_id``, ``routing_decision_id`` and
``trace_id``. Spans and events are built the way their `RequestTrace` stores them, without the
join ids it holds once (`RequestTrace.full_spans` gives the whole artifacts back). Tests validate
each against its schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rolecall.observe.observation import AttemptObservation, Observation, new_id
from rolecall.observe.request_trace import RequestTrace
from rolecall.profiles import Sample

__all__ = ["RecordBatch", "build_batch", "build_samples", "build_trace", "build_usage"]


@dataclass(slots=True)
class RecordBatch:
    """The rows built from one message's observed requests: every list may be empty."""

    decisions: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # by routing_decision_id
    traces: list[dict[str, Any]] = field(default_factory=list)  # RequestTrace.row() each
    usage: list[dict[str, Any]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    # {"request_id", "role_id", "task_type", "executed"}: what the router was asked and whether
    # the request ran on an upstream (not: refused, or decision-only), which usage events lack;
    # and who the request was for: "team", "user", "client_request_id", "metadata", "tags"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        """How many requests' records the batch holds."""
        return len(self.decisions)


def build_batch(observations: Iterable[Observation]) -> RecordBatch:
    """Every row of the observed requests."""
    rows = RecordBatch()
    for o in observations:
        rows.requests.append(
            {
                "request_id": o.request_id,
                "role_id": o.role_id,
                "task_type": o.task_type,
                "executed": o.executed,
                "team": o.team,
                "user": o.user,
                "client_request_id": o.client_request_id,
                "metadata": o.metadata,
                "tags": o.tags,
            }
        )
        rows.decisions.append((o.decision, o.decided_ms))
        if o.plan is not None:
            rows.plans[str(o.decision["routing_decision_id"])] = o.plan
        usage = build_usage(o)
        rows.usage.append(usage)
        samples = build_samples(o)
        rows.samples.extend(samples)
        rows.traces.append(build_trace(o, usage, len(samples)).row())
    return rows


def _span(
    span_type: str, start: int, end: int, status: str, parent: str | None = None, **attrs: Any
) -> dict[str, Any]:
    """A span as a `RequestTrace` holds it: without the join ids its trace row keeps once.
    ``parent``: the attempt's span, when the attempt had one (its upstream saw it as the
    ``traceparent``'s parent; it exists only in the OpenTelemetry export, docs/operate.md)."""
    span = {
        "span_id": new_id(),
        "span_type": span_type,
        "started_at_ms": start,
        "ended_at_ms": max(start, end),
        "status": status,
        "attributes": {k: v for k, v in attrs.items() if v is not None},
    }
    if parent is not None:
        span["parent_span_id"] = parent
    return span


def build_spans(o: Observation) -> list[dict[str, Any]]:
    """The request's spans, without the join ids (see `_span`)."""
    d = o.decision
    scored = len(d["scored_candidates"])
    spans = [
        _span(
            "router.eligibility",
            o.started_ms,
            o.decided_ms,
            "ok",
            candidates=len(d["eligibility"]),
            eligible=sum(1 for e in d["eligibility"] if e["eligible"]),
        ),
        _span(
            "router.scoring",
            o.started_ms,
            o.decided_ms,
            "ok",
            strategy=d["policy_snapshot"]["strategy"],
            scored=scored,
        ),
        _span(
            "router.selection",
            o.started_ms,
            o.decided_ms,
            "ok" if scored or o.panic else "error",
            chosen_endpoint_id=d["chosen_endpoint_id"] or None,
            fallbacks=len(d["fallback_endpoint_ids"]),
            # every endpoint that could serve was cooling: tried anyway, least recently failed
            # first (docs/protocol.md §Cooldowns)
            panic=o.panic or None,
        ),
    ]
    for attempt in o.attempts:
        spans.extend(_attempt_spans(o, attempt))
    if o.executed and not o.ok:
        spans.append(
            _span("request.failure", o.decided_ms, o.ended_ms, "error", error_class=o.error_class)
        )
    return spans


def _attempt_spans(o: Observation, a: AttemptObservation) -> list[dict[str, Any]]:
    status = "ok" if a.error_class is None else "error"
    spans = []
    if a.retry or a.endpoint_id != o.decision["chosen_endpoint_id"]:
        spans.append(
            _span(
                "router.retry" if a.retry else "router.fallback",
                a.started_ms,
                a.ended_ms,
                status,
                a.span_id,
                endpoint_id=a.endpoint_id,
                error_class=a.error_class,
                panic=o.panic or None,
            )
        )
    end = a.ended_ms if a.first_byte_ms is None else a.first_byte_ms
    spans.append(
        _span(
            "provider.prefill",
            a.started_ms,
            end,
            status,
            a.span_id,
            endpoint_id=a.endpoint_id,
            error_class=a.error_class,
            http_status=a.http_status,
        )
    )
    if a.first_byte_ms is not None:
        spans.append(
            _span(
                "provider.decode",
                a.first_byte_ms,
                o.ended_ms,
                "error" if o.stream_error else "ok",
                a.span_id,
                endpoint_id=a.endpoint_id,
                error_class=o.stream_error,
                tokens_out=o.tokens_out,
            )
        )
    return spans


def build_usage(o: Observation) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "event_id": new_id(),
        "timestamp_ms": o.ended_ms,
        "app_id": o.app_id,
        "request_id": o.request_id,
        "routing_decision_id": o.decision["routing_decision_id"],
        "endpoint_id": o.endpoint_id,
        "provider_kind": o.provider_kind,
        "tokens_in": o.tokens_in,
        "tokens_out": o.tokens_out,
        "latency_ms": float(o.ended_ms - o.started_ms),
        "sample_source": "live_request",
    }
    if o.model is not None:
        usage["model_id"] = o.model
    if o.cost_estimate is not None:
        usage["cost_estimate"] = o.cost_estimate
        usage["currency"] = "USD"
    if o.cost is not None and o.ok:
        usage["cost_actual"] = o.cost
    if o.error_class is not None:
        usage["error_class"] = o.error_class
    return usage


def build_trace(o: Observation, usage: Mapping[str, Any], samples: int) -> RequestTrace:
    """The request's spans and events, as stored."""
    return RequestTrace(
        o.request_id,
        o.trace_id,
        o.decision["routing_decision_id"],
        o.started_ms,
        build_spans(o),
        build_events(o, usage, samples),
    )


def build_events(o: Observation, usage: Mapping[str, Any], samples: int) -> list[dict[str, Any]]:
    """The request's events, without the join ids (as `_span`)."""
    d = o.decision
    return [
        {
            "event_id": new_id(),
            "timestamp_ms": o.decided_ms,
            "event_type": "router.decision.created",
            "payload": {
                "chosen_endpoint_id": d["chosen_endpoint_id"],
                "fallback_endpoint_ids": list(d["fallback_endpoint_ids"]),
            },
        },
        {
            "event_id": new_id(),
            "timestamp_ms": o.ended_ms,
            "event_type": "usage.event.created",
            "payload": {"usage_event_id": usage["event_id"]},
        },
        {
            "event_id": new_id(),
            "timestamp_ms": o.ended_ms,
            "event_type": "profile.sample.recorded",
            "payload": {"samples": samples},
        },
    ]


def build_samples(o: Observation) -> list[Sample]:
    """One live sample per attempt: failures are reliability evidence for the endpoint that failed."""
    samples = []
    for a in o.attempts:
        if a.endpoint_version is None:
            continue
        # a stream cut after it started is the answering endpoint's failure
        error_class = a.error_class or (o.stream_error if a.first_byte_ms is not None else None)
        ok = error_class is None
        end = o.ended_ms if (ok and a.first_byte_ms is not None) else a.ended_ms
        latency = float(max(0, end - a.started_ms))
        tps = None
        if ok and o.tokens_out and end > a.started_ms:
            tps = o.tokens_out / ((end - a.started_ms) / 1000)
        samples.append(
            Sample(
                endpoint_id=a.endpoint_id,
                endpoint_version=a.endpoint_version,
                source="live_request",
                timestamp_ms=end,
                latency_ms=latency,
                tokens_per_sec=tps,
                cost_per_1k_tokens=a.cost_per_1k_tokens,
                cost_usd=o.cost if ok else None,
                error_class=error_class,
            )
        )
    return samples
