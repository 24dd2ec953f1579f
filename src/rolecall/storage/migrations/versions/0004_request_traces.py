"""Request traces: a request's spans and events in one ``request_traces`` row.

Revision ID: 0004_request_traces
Revises: 0003_console
Create Date: 2026-11-29

Replaces ``trace_spans`` and ``trace_events`` (a row and up to four index entries per span and per
event) with one row per request that holds its ``trace_id``, ``request_id`` and
``routing_decision_id`` once; each stored item keeps only the join ids that differ from its row's.
Existing spans and events are moved, a page of requests at a time, before the old tables are
dropped; the downgrade moves them back. The compaction is written out here (not imported) so this
revision keeps meaning what it meant when it shipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_request_traces"
down_revision: str | None = "0003_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 1000
_JOIN = ("trace_id", "request_id", "routing_decision_id")
_OLD_INDEXES = (
    ("ix_trace_spans_request_id_started_at_ms", "trace_spans", ("request_id", "started_at_ms")),
    ("ix_trace_spans_routing_decision_id", "trace_spans", ("routing_decision_id",)),
    ("ix_trace_events_request_id_timestamp_ms", "trace_events", ("request_id", "timestamp_ms")),
    ("ix_trace_events_routing_decision_id", "trace_events", ("routing_decision_id",)),
    ("ix_trace_events_trace_id", "trace_events", ("trace_id",)),
)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def _ms(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "request_traces",
        _text("request_id"),
        _text("trace_id"),
        _text("routing_decision_id"),
        _ms("started_at_ms"),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_request_traces"),
        if_not_exists=True,
    )
    bind = op.get_bind()
    if sa.inspect(bind).has_table("trace_spans"):
        _move_to_request_traces(bind)
        for name, table, _ in _OLD_INDEXES:
            op.drop_index(name, table_name=table, if_exists=True)
        op.drop_table("trace_spans")
        op.drop_table("trace_events")


def downgrade() -> None:
    _create_old_tables()
    _move_to_old_tables(op.get_bind())
    op.drop_table("request_traces")


def _request_pages(bind: sa.Connection, tables: Sequence[sa.Table]) -> Iterator[list[str]]:
    ids = sa.union(*(sa.select(t.c.request_id) for t in tables)).subquery()
    page: list[str] = []
    for (request_id,) in bind.execute(sa.select(ids.c.request_id).order_by(ids.c.request_id)):
        page.append(request_id)
        if len(page) == _PAGE:
            yield page
            page = []
    if page:
        yield page


def _move_to_request_traces(bind: sa.Connection) -> None:
    meta = sa.MetaData()
    spans = sa.Table("trace_spans", meta, autoload_with=bind)
    events = sa.Table("trace_events", meta, autoload_with=bind)
    traces = sa.Table("request_traces", meta, autoload_with=bind)
    for page in list(_request_pages(bind, [spans, events])):
        rows: dict[str, dict[str, Any]] = {}
        for table, kind, start in (
            (spans, "spans", "started_at_ms"),
            (events, "events", "timestamp_ms"),
        ):
            query = sa.select(table.c.artifact).where(table.c.request_id.in_(page))
            for item in bind.execute(query.order_by(table.c[start])).scalars():
                row = rows.setdefault(item["request_id"], _row_for(item, item[start]))
                row["started_at_ms"] = min(row["started_at_ms"], item[start])
                row[kind].append(
                    {k: v for k, v in item.items() if not (k in _JOIN and v == row[k])}
                )
        bind.execute(traces.insert(), list(rows.values()))


def _row_for(item: dict[str, Any], start: int) -> dict[str, Any]:
    return {**{k: item[k] for k in _JOIN}, "started_at_ms": start, "spans": [], "events": []}


def _artifact() -> sa.Column[Any]:
    return sa.Column("artifact", sa.JSON(), nullable=False)


def _create_old_tables() -> None:
    op.create_table(
        "trace_spans",
        *(_text(name) for name in ("trace_id", "span_id", "request_id", "routing_decision_id")),
        _ms("started_at_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_trace_spans"),
    )
    op.create_table(
        "trace_events",
        *(_text(name) for name in ("event_id", "trace_id", "request_id", "routing_decision_id")),
        _ms("timestamp_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("event_id", name="pk_trace_events"),
    )
    for name, table, columns in _OLD_INDEXES:
        op.create_index(name, table, list(columns))


def _move_to_old_tables(bind: sa.Connection) -> None:
    meta = sa.MetaData()
    traces = sa.Table("request_traces", meta, autoload_with=bind)
    spans = sa.Table("trace_spans", meta, autoload_with=bind)
    events = sa.Table("trace_events", meta, autoload_with=bind)
    for page in list(_request_pages(bind, [traces])):
        span_rows, event_rows = [], []
        for row in bind.execute(sa.select(traces).where(traces.c.request_id.in_(page))):
            shared = {k: row._mapping[k] for k in _JOIN}
            for item in row.spans:
                span = {**shared, **item}
                keys = ("trace_id", "span_id", "request_id", "routing_decision_id", "started_at_ms")
                span_rows.append({**{k: span[k] for k in keys}, "artifact": span})
            for item in row.events:
                event = {**shared, **item}
                keys = ("event_id", "trace_id", "request_id", "routing_decision_id", "timestamp_ms")
                event_rows.append({**{k: event[k] for k in keys}, "artifact": event})
        if span_rows:
            bind.execute(spans.insert(), span_rows)
        if event_rows:
            bind.execute(events.insert(), event_rows)
