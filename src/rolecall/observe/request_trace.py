"""A request's trace as one stored row: its spans and events, with the join ids kept once.

Owns `RequestTrace` (a request's trace as the record writer builds it and storage keeps it) and
`group_traces` (span and event artifacts into traces). Every item repeats its request's
``trace_id``, ``request_id`` and ``routing_decision_id``; the row holds them once and an item keeps
only those that differ, so reading a trace gives back exactly the artifacts written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["JOIN_KEYS", "RequestTrace", "group_traces"]

Artifact = dict[str, Any]
JOIN_KEYS: Final = ("trace_id", "request_id", "routing_decision_id")
_SPAN_KEYS: Final = (*JOIN_KEYS, "span_id", "started_at_ms")
_EVENT_KEYS: Final = (*JOIN_KEYS, "event_id", "timestamp_ms")


def _require(kind: str, item: Mapping[str, Any], keys: Sequence[str]) -> None:
    for key in keys:
        if key not in item:
            raise ValueError(f"{kind}: missing {key!r}, which storage indexes")


def _span_key(span: Mapping[str, Any], trace_id: str) -> tuple[str, str]:
    return str(span.get("trace_id", trace_id)), str(span["span_id"])


def _event_key(event: Mapping[str, Any]) -> str:
    return str(event["event_id"])


@dataclass(slots=True)
class RequestTrace:
    """The spans and events of one request, as stored: each item without the join ids it shares
    with the trace (the gateway builds them that way; `add_span` and `add_event` strip them)."""

    request_id: str
    trace_id: str
    routing_decision_id: str
    started_at_ms: int
    spans: list[Artifact] = field(default_factory=list)
    events: list[Artifact] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The ``request_traces`` row."""
        return {
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "routing_decision_id": self.routing_decision_id,
            "started_at_ms": self.started_at_ms,
            "spans": self.spans,
            "events": self.events,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RequestTrace:
        return cls(
            str(row["request_id"]),
            str(row["trace_id"]),
            str(row["routing_decision_id"]),
            int(row["started_at_ms"]),
            list(row["spans"]),
            list(row["events"]),
        )

    def add_span(self, span: Mapping[str, Any]) -> None:
        """Add a whole span artifact."""
        self.spans.append(self._compact(span))
        self.started_at_ms = min(self.started_at_ms, int(span["started_at_ms"]))

    def add_event(self, event: Mapping[str, Any]) -> None:
        """Add a whole event artifact."""
        self.events.append(self._compact(event))
        self.started_at_ms = min(self.started_at_ms, int(event["timestamp_ms"]))

    def full_spans(self) -> list[Artifact]:
        """The span artifacts, by start time (within a millisecond, in the order they happened:
        a retry's or fallback's span after the attempt before it)."""
        spans = [self._expand(item) for item in self.spans]
        return sorted(spans, key=lambda s: s["started_at_ms"])

    def full_events(self) -> list[Artifact]:
        """The event artifacts, by time (within a millisecond, in the order they happened)."""
        events = [self._expand(item) for item in self.events]
        return sorted(events, key=lambda e: e["timestamp_ms"])

    def merged(self, newer: RequestTrace) -> RequestTrace | None:
        """This stored trace with the items of ``newer`` (same request) it lacks — an item
        already stored is kept as it was; None when there are none."""
        have_spans = {_span_key(s, self.trace_id) for s in self.spans}
        have_events = {_event_key(e) for e in self.events}
        merged = RequestTrace(
            self.request_id,
            self.trace_id,
            self.routing_decision_id,
            self.started_at_ms,
            list(self.spans),
            list(self.events),
        )
        for span in newer.spans:
            if _span_key(span, newer.trace_id) not in have_spans:
                merged.add_span(newer._expand(span))
        for event in newer.events:
            if _event_key(event) not in have_events:
                merged.add_event(newer._expand(event))
        unchanged = len(merged.spans) == len(self.spans) and len(merged.events) == len(self.events)
        return None if unchanged else merged

    def _join_ids(self) -> dict[str, str]:
        return {
            "trace_id": self.trace_id,
            "request_id": self.request_id,
            "routing_decision_id": self.routing_decision_id,
        }

    def _compact(self, item: Mapping[str, Any]) -> Artifact:
        shared = self._join_ids()
        return {k: v for k, v in item.items() if k not in shared or v != shared[k]}

    def _expand(self, item: Mapping[str, Any]) -> Artifact:
        # the join ids first, as the gateway's artifacts have them; an item's own value wins
        return {**{k: v for k, v in self._join_ids().items() if k not in item}, **item}


def group_traces(
    spans: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]]
) -> dict[str, RequestTrace]:
    """Whole span and event artifacts grouped into one trace per request (the first item of a
    request names its trace and decision; an item given twice is kept once). Raises `ValueError`
    naming the kind and key of an item that lacks one storage needs."""
    traces: dict[str, RequestTrace] = {}
    seen: set[object] = set()

    def trace_of(item: Mapping[str, Any], at: int) -> RequestTrace:
        request_id = str(item["request_id"])
        trace = traces.get(request_id)
        if trace is None:
            trace = traces[request_id] = RequestTrace(
                request_id, str(item["trace_id"]), str(item["routing_decision_id"]), at
            )
        return trace

    for span in spans:
        _require("trace-span", span, _SPAN_KEYS)
        span_key = ("span", str(span["trace_id"]), str(span["span_id"]))
        if span_key not in seen:
            seen.add(span_key)
            trace_of(span, int(span["started_at_ms"])).add_span(span)
    for event in events:
        _require("trace-event", event, _EVENT_KEYS)
        if (key := ("event", _event_key(event))) not in seen:
            seen.add(key)
            trace_of(event, int(event["timestamp_ms"])).add_event(event)
    return traces
