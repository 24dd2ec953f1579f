"""A stored request as OpenTelemetry spans, with the GenAI semantic conventions (pure, no SDK).

Owns `request_spans`: one `Observation` and the `RequestTrace` row built from it become

- the request's span (kind SERVER, ``chat {requested model}``), whose parent is the caller's
  span when the caller sent a ``traceparent``; the trace's events ride on it;
- one span per upstream attempt (kind CLIENT, ``chat {upstream model}``) with the id its
  upstream saw as the ``traceparent``'s parent, under the request's span;
- every stored role-model span (``router.*``, ``provider.*``, ``request.failure``) with its own
  id, under its attempt's span (``parent_span_id``) or the request's.

Attributes follow the GenAI conventions (``gen_ai.operation.name``, ``gen_ai.provider.name`` and
its older name ``gen_ai.system``, ``gen_ai.request.*``, ``gen_ai.response.model``,
``gen_ai.usage.*``, ``server.*``, ``error.type``); rolecall's own are ``rolecall.*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from rolecall.observe.observation import AttemptObservation, Observation, new_id

__all__ = ["EventRecord", "SpanRecord", "provider_name", "request_spans"]

Value = str | int | float | bool | Sequence[str]
Kind = Literal["server", "client", "internal"]
MS: Final = 1_000_000  # nanoseconds
OPERATION: Final = "chat"
EMBEDDINGS: Final = "embeddings"  # the operation of a request for an embeddings task
# provider kinds (as configured) as gen_ai.provider.name: an OpenAI-compatible server is "openai",
# as the conventions name whatever is spoken to through the OpenAI API; others keep their kind
PROVIDERS: Final = {"openai_compatible": "openai"}


@dataclass(frozen=True, slots=True)
class EventRecord:
    name: str
    time_ns: int
    attributes: dict[str, Value]


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One span to export. ``parent_id`` None: a root; ``remote_parent``: the parent is the
    caller's. ``error``: the status description of a failed span (None: not failed)."""

    name: str
    span_id: str
    parent_id: str | None
    kind: Kind
    start_ns: int
    end_ns: int
    attributes: dict[str, Value]
    error: str | None = None
    remote_parent: bool = False
    events: tuple[EventRecord, ...] = field(default=())


def provider_name(kind: str | None) -> str | None:
    """``gen_ai.provider.name`` of a provider kind (another kind is named as it is)."""
    return None if kind is None else PROVIDERS.get(kind, kind)


def request_spans(o: Observation, trace: Mapping[str, Any]) -> list[SpanRecord]:
    """The request's spans: its own first, then the attempts', then the role-model spans."""
    root_id = new_id()
    spans = [_request_span(o, trace, root_id)]
    attempt_ids: set[str] = set()
    for index, attempt in enumerate(o.attempts):
        span = _attempt_span(o, attempt, index, root_id)
        attempt_ids.add(span.span_id)
        spans.append(span)
    for stored in trace["spans"]:
        parent = stored.get("parent_span_id")
        spans.append(_stored_span(stored, parent if parent in attempt_ids else root_id))
    return spans


def _request_span(o: Observation, trace: Mapping[str, Any], span_id: str) -> SpanRecord:
    decision = o.decision
    chosen = decision.get("chosen_endpoint_id") or None
    attrs = _gen_ai(o.requested_model, o)
    if o.attempts:  # the provider of the attempt that answered, or was made last
        provider = provider_name(o.attempts[-1].provider_kind)
        attrs["gen_ai.usage.input_tokens"] = o.tokens_in
        attrs["gen_ai.usage.output_tokens"] = o.tokens_out
        _put(attrs, "gen_ai.provider.name", provider)
        _put(attrs, "gen_ai.system", provider)
        if o.ok:
            _put(attrs, "gen_ai.response.model", o.model)
    _put(attrs, "error.type", o.error_class)
    rolecall: dict[str, Any] = {
        "request_id": o.request_id,
        "decision_id": decision.get("routing_decision_id"),
        "app_id": o.app_id,
        "role": o.role_id,
        "task": o.task_type,
        "strategy": (decision.get("policy_snapshot") or {}).get("strategy"),
        "chosen_endpoint_id": chosen,
        "endpoint_id": o.endpoint_id if o.executed else None,
        "attempts": len(o.attempts),
        "fallback": o.executed and chosen is not None and o.endpoint_id != chosen,
        "panic": o.panic or None,
        "cost_usd": o.cost if o.ok else None,
    }
    attrs.update(_prefixed(rolecall))
    events = tuple(_event(e) for e in trace.get("events", ()))
    return SpanRecord(
        f"{_operation(o)} {o.requested_model}" if o.requested_model else _operation(o),
        span_id,
        o.parent_span_id,
        "server",
        o.started_ms * MS,
        max(o.started_ms, o.ended_ms) * MS,
        attrs,
        error=o.error_class,
        remote_parent=o.parent_span_id is not None,
        events=events,
    )


def _attempt_span(o: Observation, a: AttemptObservation, index: int, parent_id: str) -> SpanRecord:
    answered = o.ok and a.error_class is None and index == len(o.attempts) - 1
    # a relayed stream's attempt lasts until the relay ends; a cut stream failed it then
    error = a.error_class or (o.stream_error if answered and a.first_byte_ms else None)
    end = o.ended_ms if answered and a.first_byte_ms is not None else a.ended_ms
    attrs = _gen_ai(a.model, o)
    _put(attrs, "gen_ai.provider.name", provider_name(a.provider_kind))
    _put(attrs, "gen_ai.system", provider_name(a.provider_kind))
    if answered:
        _put(attrs, "gen_ai.response.model", a.model)
        attrs["gen_ai.usage.input_tokens"] = o.tokens_in
        attrs["gen_ai.usage.output_tokens"] = o.tokens_out
    server = _server(a.base_url)
    if server is not None:
        attrs["server.address"], attrs["server.port"] = server
    _put(attrs, "error.type", error)
    if a.http_status:
        attrs["http.response.status_code"] = a.http_status
    chosen = o.decision.get("chosen_endpoint_id")
    rolecall = {
        "endpoint_id": a.endpoint_id,
        "attempt": index + 1,
        "retry": a.retry,
        "fallback": a.endpoint_id != chosen,
    }
    attrs.update(_prefixed(rolecall))
    return SpanRecord(
        f"{_operation(o)} {a.model}" if a.model else _operation(o),
        a.span_id or new_id(),
        parent_id,
        "client",
        a.started_ms * MS,
        max(a.started_ms, end) * MS,
        attrs,
        error=error,
    )


def _stored_span(span: Mapping[str, Any], parent_id: str) -> SpanRecord:
    attributes = span.get("attributes") or {}
    attrs = _prefixed(attributes)
    failed = span.get("status") == "error"
    error = attributes.get("error_class")
    if failed:
        attrs["error.type"] = str(error or "error")
    return SpanRecord(
        str(span["span_type"]),
        str(span["span_id"]),
        parent_id,
        "internal",
        int(span["started_at_ms"]) * MS,
        int(span["ended_at_ms"]) * MS,
        attrs,
        error=str(error or span["span_type"]) if failed else None,
    )


def _event(event: Mapping[str, Any]) -> EventRecord:
    payload = event.get("payload") or {}
    return EventRecord(
        str(event["event_type"]), int(event["timestamp_ms"]) * MS, _prefixed(payload)
    )


def _operation(o: Observation) -> str:
    return EMBEDDINGS if o.task_type.startswith("embeddings.") else OPERATION


def _gen_ai(model: str | None, o: Observation) -> dict[str, Value]:
    attrs: dict[str, Value] = {"gen_ai.operation.name": _operation(o)}
    _put(attrs, "gen_ai.request.model", model)
    _put(attrs, "gen_ai.request.temperature", o.temperature)
    _put(attrs, "gen_ai.request.max_tokens", o.max_tokens)
    return attrs


def _put(attrs: dict[str, Value], key: str, value: Value | None) -> None:
    if value is not None:
        attrs[key] = value


def _prefixed(values: Mapping[str, Any]) -> dict[str, Value]:
    """``rolecall.<key>`` for each value OpenTelemetry can carry (scalars, lists of strings)."""
    out: dict[str, Value] = {}
    for key, value in values.items():
        if isinstance(value, str | bool | int | float):
            out[f"rolecall.{key}"] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[f"rolecall.{key}"] = list(value)
    return out


@lru_cache(maxsize=256)
def _server(base_url: str | None) -> tuple[str, int] | None:
    """``server.address`` and ``server.port`` of an upstream's base URL (the scheme's port when
    it names none)."""
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname, port
