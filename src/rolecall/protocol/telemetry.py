"""Telemetry artifacts around execution: trace spans, trace events and usage events.

What each artifact is for: docs/protocol.md §Artifacts.

Owns `TraceSpan`, `TraceEvent` and `UsageEvent`, mirroring the ``trace-span``, ``trace-event`` and
``usage-event`` schemas, and the Literal aliases of their enums (`SpanType`, `SpanStatus`,
`TraceEventType`, `SampleSource`). Join keys across the three: ``request_id``,
``routing_decision_id``, ``trace_id``, ``span_id``, ``endpoint_id``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from rolecall.protocol.base import ProtocolModel

__all__ = [
    "AttributeValue",
    "SampleSource",
    "SpanStatus",
    "SpanType",
    "TraceEvent",
    "TraceEventType",
    "TraceSpan",
    "UsageEvent",
]

SpanType = Literal[
    "router.eligibility",
    "router.scoring",
    "router.selection",
    "provider.load",
    "provider.queue",
    "provider.prefill",
    "provider.decode",
    "tool.execution",
    "router.fallback",
    "router.retry",
    "request.failure",
]
SpanStatus = Literal["ok", "error", "cancelled"]
TraceEventType = Literal[
    "router.decision.created",
    "trace.span.opened",
    "trace.span.closed",
    "usage.event.created",
    "profile.sample.recorded",
    "profile.updated",
]
SampleSource = Literal["live_request", "benchmark"]

TimestampMs = Annotated[int, Field(ge=0)]
NonNegative = Annotated[float, Field(ge=0)]


def _scalar(value: object) -> str | int | float | bool:
    # One check instead of a four-way union, so errors name the attribute, not union members.
    if isinstance(value, str | int | float):  # bool is an int
        return value
    raise ValueError("expected a string, number or boolean")


AttributeValue = Annotated[
    str | int | float | bool,
    PlainValidator(_scalar),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}),
]
"""A span attribute value: a JSON string, number or boolean, kept as given."""


class TraceSpan(ProtocolModel):
    """One timed step of routing or execution."""

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    request_id: str
    routing_decision_id: str
    span_type: SpanType
    started_at_ms: TimestampMs
    ended_at_ms: TimestampMs
    status: SpanStatus
    attributes: dict[str, AttributeValue] | None = None


class TraceEvent(ProtocolModel):
    """A point-in-time event within a trace, with a free-form payload."""

    event_id: str
    trace_id: str
    span_id: str | None = None
    request_id: str
    routing_decision_id: str
    timestamp_ms: TimestampMs
    event_type: TraceEventType
    payload: dict[str, Any]


class UsageEvent(ProtocolModel):
    """What one executed request consumed: tokens, latency, cost, outcome.

    ``provider_kind`` is a free string in this schema (unlike `EndpointIdentity`'s enum).
    """

    event_id: str
    timestamp_ms: TimestampMs
    app_id: str
    org_id: str | None = None
    request_id: str
    routing_decision_id: str
    endpoint_id: str
    model_id: str | None = None
    package_id: str | None = None
    provider_kind: str
    tokens_in: Annotated[int, Field(ge=0)]
    tokens_out: Annotated[int, Field(ge=0)]
    latency_ms: NonNegative
    cost_actual: NonNegative | None = None
    cost_estimate: NonNegative | None = None
    currency: str | None = None
    error_class: str | None = None
    sample_source: SampleSource | None = None
