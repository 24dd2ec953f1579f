"""SQL implementation of the telemetry ports: `DecisionStore`, `TraceStore` and `UsageStore`.

Owns `SqlDecisionMixin`, `SqlTraceMixin` and `SqlUsageMixin`. Each artifact is stored whole (JSON)
beside the columns it is looked up and sorted by, and read back as the dict that was written.
Decisions are upserted by ``routing_decision_id``; spans, events and usage events are insert-only
and ignore duplicates, so a retried or replayed batch is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Select, func, select

from rolecall.storage.sql_base import SqlBase, artifact_rows
from rolecall.storage.sql_tables import DECISIONS, TRACE_EVENTS, TRACE_SPANS, USAGE_EVENTS

__all__ = ["SqlDecisionMixin", "SqlTraceMixin", "SqlUsageMixin"]

Artifact = dict[str, Any]

_SPAN_COLUMNS: Final = {
    name: name
    for name in ("trace_id", "span_id", "request_id", "routing_decision_id", "started_at_ms")
}
_EVENT_COLUMNS: Final = {
    name: name
    for name in ("event_id", "trace_id", "request_id", "routing_decision_id", "timestamp_ms")
}
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
    """`TraceStore` on SQL."""

    def add_spans(self, spans: Sequence[Mapping[str, Any]]) -> None:
        self._insert_new(TRACE_SPANS, artifact_rows(spans, _SPAN_COLUMNS, kind="trace-span"))

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        self._insert_new(TRACE_EVENTS, artifact_rows(events, _EVENT_COLUMNS, kind="trace-event"))

    def spans_for(self, request_id: str) -> list[Artifact]:
        query = (
            select(TRACE_SPANS.c.artifact)
            .where(TRACE_SPANS.c.request_id == request_id)
            .order_by(TRACE_SPANS.c.started_at_ms, TRACE_SPANS.c.span_id)
        )
        with self._read() as connection:
            return _artifacts(connection.execute(query).scalars())

    def events_for(self, request_id: str) -> list[Artifact]:
        query = (
            select(TRACE_EVENTS.c.artifact)
            .where(TRACE_EVENTS.c.request_id == request_id)
            .order_by(TRACE_EVENTS.c.timestamp_ms, TRACE_EVENTS.c.event_id)
        )
        with self._read() as connection:
            return _artifacts(connection.execute(query).scalars())


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
