"""TraceSpan and TraceEvent artifacts on SQL (`SqlTraces`): one ``request_traces`` row per request.

A request's spans and events share one row (`rolecall.observe.request_trace.RequestTrace`), stored
whole and read back as the artifacts written. Insert-only: an item already stored (same trace and
span id, same event id) is kept as it was, so a retried or replayed batch is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from rolecall.observe.request_trace import RequestTrace, group_traces
from rolecall.storage.database import Artifact, Database
from rolecall.storage.sql_tables import REQUEST_TRACES

__all__ = ["SqlTraces"]


class SqlTraces:
    """Request traces on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_spans(self, spans: Sequence[Mapping[str, Any]]) -> None:
        """Store spans; a span already stored (same trace and span id) is kept as it was."""
        self.add(spans, ())

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store events; an event already stored (same event id) is kept as it was."""
        self.add((), events)

    def add(self, spans: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]) -> None:
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
        with self._db.batch():
            inserted = self._db.insert_new(REQUEST_TRACES, [t.row() for t in traces])
            if inserted < len(traces):  # some requests had a trace already: add to theirs
                self._merge_into_stored(by_request)

    def _merge_into_stored(self, traces: Mapping[str, RequestTrace]) -> None:
        stored = self._traces(list(traces))
        rows = []
        for request_id, trace in traces.items():
            merged = stored[request_id].merged(trace) if request_id in stored else None
            if merged is not None:
                rows.append(merged.row())
        self._db.upsert(REQUEST_TRACES, rows, key=["request_id"])

    def _traces(self, request_ids: Sequence[str]) -> dict[str, RequestTrace]:
        rows = self._db.rows_in(
            lambda ids: select(REQUEST_TRACES).where(REQUEST_TRACES.c.request_id.in_(ids)),
            request_ids,
        )
        found = [RequestTrace.from_row(dict(row._mapping)) for row in rows]
        return {trace.request_id: trace for trace in found}

    def spans_for(self, request_id: str) -> list[Artifact]:
        """Spans of one request, by start time."""
        trace = self._trace(request_id)
        return [] if trace is None else trace.full_spans()

    def events_for(self, request_id: str) -> list[Artifact]:
        """Events of one request, by timestamp."""
        trace = self._trace(request_id)
        return [] if trace is None else trace.full_events()

    def _trace(self, request_id: str) -> RequestTrace | None:
        query = select(REQUEST_TRACES).where(REQUEST_TRACES.c.request_id == request_id)
        with self._db.read() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else RequestTrace.from_row(dict(row._mapping))
