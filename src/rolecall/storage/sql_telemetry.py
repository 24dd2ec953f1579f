"""SQL implementation of the telemetry ports: `DecisionStore`, `TraceStore` and `UsageStore`.

Owns `SqlDecisionMixin`, `SqlTraceMixin` and `SqlUsageMixin`. Each artifact is stored whole (JSON)
beside the columns it is looked up and sorted by, and read back as the dict that was written (a
request's spans and events share one row, `rolecall.storage.trace_rows`). Decisions are upserted by
``routing_decision_id``; spans, events and usage events are insert-only and ignore duplicates, so a
retried or replayed batch is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Select, func, select

from rolecall.storage.sql_base import SqlBase, artifact_rows
from rolecall.storage.sql_tables import DECISIONS, REQUEST_TRACES, USAGE_EVENTS
from rolecall.storage.trace_rows import RequestTrace, group_traces

__all__ = ["SqlDecisionMixin", "SqlTraceMixin", "SqlUsageMixin"]

Artifact = dict[str, Any]

_USAGE_COLUMNS: Final = {
    name: name
    for name in ("event_id", "request_id", "routing_decision_id", "endpoint_id", "timestamp_ms")
}


def _artifacts(connection_rows: Any) -> list[Artifact]:
    return [dict(artifact) for artifact in connection_rows]


def _page(query: Select[Any], limit: int, offset: int) -> Select[Any]:
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be non-negative, got {limit} and {offset}")
    return query.limit(limit).offset(offset)


def _decision_row(decision: Mapping[str, Any], created_ms: int) -> dict[str, Any]:
    (row,) = artifact_rows(
        [decision],
        {"routing_decision_id": "routing_decision_id", "request_id": "request_id"},
        kind="router-decision",
    )
    policy = decision.get("policy_snapshot")
    row["chosen_endpoint_id"] = decision.get("chosen_endpoint_id")
    row["strategy"] = policy.get("strategy") if isinstance(policy, Mapping) else None
    row["created_ms"] = created_ms
    return row


class SqlDecisionMixin(SqlBase):
    """`DecisionStore` on SQL."""

    def put_decision(self, decision: Mapping[str, Any], *, created_ms: int) -> None:
        self._upsert(DECISIONS, [_decision_row(decision, created_ms)], key=["routing_decision_id"])

    def put_decisions(self, decisions: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """Many decisions (artifact, created_ms) in one transaction."""
        if decisions:
            rows = [_decision_row(d, created_ms) for d, created_ms in decisions]
            self._upsert(DECISIONS, rows, key=["routing_decision_id"])

    def get_decision(self, routing_decision_id: str) -> Artifact | None:
        query = select(DECISIONS.c.artifact).where(
            DECISIONS.c.routing_decision_id == routing_decision_id
        )
        with self._read() as connection:
            artifact = connection.execute(query).scalar_one_or_none()
        return None if artifact is None else dict(artifact)

    def list_decisions(
        self, *, limit: int = 50, offset: int = 0, endpoint_id: str | None = None
    ) -> list[Artifact]:
        query = select(DECISIONS.c.artifact).order_by(
            DECISIONS.c.created_ms.desc(), DECISIONS.c.routing_decision_id.desc()
        )
        if endpoint_id is not None:
            query = query.where(DECISIONS.c.chosen_endpoint_id == endpoint_id)
        with self._read() as connection:
            return _artifacts(connection.execute(_page(query, limit, offset)).scalars())

    def count_decisions(self) -> int:
        with self._read() as connection:
            return int(connection.execute(select(func.count()).select_from(DECISIONS)).scalar_one())


class SqlTraceMixin(SqlBase):
    """`TraceStore` on SQL: one ``request_traces`` row per request (`trace_rows`)."""

    def add_spans(self, spans: Sequence[Mapping[str, Any]]) -> None:
        self.add_trace(spans, ())

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.add_trace((), events)

    def add_trace(
        self, spans: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store spans and events of any requests in one transaction; an item already stored
        (same trace and span id, same event id) is kept as it was."""
        self.add_traces(list(group_traces(spans, events).values()))

    def add_traces(self, traces: Sequence[RequestTrace]) -> None:
        """Store whole request traces (merged into any stored for the same request)."""
        if not traces:
            return
        by_request: dict[str, RequestTrace] = {}
        for trace in traces:
            earlier = by_request.get(trace.request_id)
            by_request[trace.request_id] = (
                trace if earlier is None else earlier.merged(trace) or earlier
            )
        traces = list(by_request.values())
        with self.batch():
            inserted = self._insert_new(REQUEST_TRACES, [t.row() for t in traces])
            if inserted < len(traces):  # some requests had a trace already: add to theirs
                self._merge_into_stored(by_request)

    def _merge_into_stored(self, traces: Mapping[str, RequestTrace]) -> None:
        stored = self._traces(list(traces))
        rows = []
        for request_id, trace in traces.items():
            merged = stored[request_id].merged(trace) if request_id in stored else None
            if merged is not None:
                rows.append(merged.row())
        self._upsert(REQUEST_TRACES, rows, key=["request_id"])

    def _traces(self, request_ids: Sequence[str]) -> dict[str, RequestTrace]:
        rows = self._rows_in(
            lambda ids: select(REQUEST_TRACES).where(REQUEST_TRACES.c.request_id.in_(ids)),
            request_ids,
        )
        found = [RequestTrace.from_row(dict(row._mapping)) for row in rows]
        return {trace.request_id: trace for trace in found}

    def spans_for(self, request_id: str) -> list[Artifact]:
        trace = self._trace(request_id)
        return [] if trace is None else trace.full_spans()

    def events_for(self, request_id: str) -> list[Artifact]:
        trace = self._trace(request_id)
        return [] if trace is None else trace.full_events()

    def _trace(self, request_id: str) -> RequestTrace | None:
        query = select(REQUEST_TRACES).where(REQUEST_TRACES.c.request_id == request_id)
        with self._read() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else RequestTrace.from_row(dict(row._mapping))


class SqlUsageMixin(SqlBase):
    """`UsageStore` on SQL."""

    def add_usage(self, events: Sequence[Mapping[str, Any]]) -> None:
        self._insert_new(USAGE_EVENTS, artifact_rows(events, _USAGE_COLUMNS, kind="usage-event"))

    def usage_for(self, request_id: str) -> list[Artifact]:
        query = (
            select(USAGE_EVENTS.c.artifact)
            .where(USAGE_EVENTS.c.request_id == request_id)
            .order_by(USAGE_EVENTS.c.timestamp_ms, USAGE_EVENTS.c.event_id)
        )
        with self._read() as connection:
            return _artifacts(connection.execute(query).scalars())

    def list_usage(
        self, *, limit: int = 100, offset: int = 0, endpoint_id: str | None = None
    ) -> list[Artifact]:
        query = select(USAGE_EVENTS.c.artifact).order_by(
            USAGE_EVENTS.c.timestamp_ms.desc(), USAGE_EVENTS.c.event_id.desc()
        )
        if endpoint_id is not None:
            query = query.where(USAGE_EVENTS.c.endpoint_id == endpoint_id)
        with self._read() as connection:
            return _artifacts(connection.execute(_page(query, limit, offset)).scalars())
