"""Console analytics: ``request_facts`` and ``request_rollup``, rebuilt from the usage events.

Revision ID: 0003_console
Revises: 0002_benchmark
Create Date: 2026-11-29

One flat row per request (facts) and additive sums per 5 minutes and filter combination (rollup)
let the console filter, group and paginate 100k+ requests with plain SQL on SQLite and PostgreSQL
alike. On SQLite both are clustered by time (``WITHOUT ROWID``). The schema is written out here;
the backfill derives rows with today's `rolecall.storage.sql_analytics_tables` builders on
purpose: the tables hold derived data only, and a later change to the derivation would ship a
revision that rebuilds them. The backfill reads in batches and never modifies the source tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_console"
down_revision: str | None = "0002_benchmark"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_HISTOGRAM_BINS = 64
_DIMENSIONS = (
    "source",
    "endpoint_id",
    "model_id",
    "provider_kind",
    "role_id",
    "task_type",
    "status_family",
    "strategy",
)


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, kind: Any = sa.Integer) -> sa.Column[int]:
    return sa.Column(name, kind(), nullable=False)


def _create_facts() -> None:
    op.create_table(
        "request_facts",
        _int("timestamp_ms", sa.BigInteger),
        _text("request_id", nullable=False),
        _text("routing_decision_id", nullable=False),
        _text("endpoint_id", nullable=False),
        _text("chosen_endpoint_id"),
        _text("model_id"),
        _text("provider_kind"),
        _text("source", nullable=False),
        _text("role_id"),
        _text("task_type"),
        _text("strategy"),
        _text("status_family", nullable=False),
        _text("error_class"),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        _int("latency_bin"),
        _int("tokens_in"),
        _int("tokens_out"),
        sa.Column("cost_usd", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("timestamp_ms", "request_id", name="pk_request_facts"),
        if_not_exists=True,
        sqlite_with_rowid=False,
    )
    op.create_index(
        "uq_request_facts_request_id",
        "request_facts",
        ["request_id"],
        unique=True,
        if_not_exists=True,
    )


def _create_rollup() -> None:
    op.create_table(
        "request_rollup",
        _int("bucket_ms", sa.BigInteger),
        *(_text(name, nullable=False) for name in _DIMENSIONS),
        _int("requests"),
        _int("ok"),
        sa.Column("latency_sum_ms", sa.Double(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        _int("costed"),
        _int("tokens_in", sa.BigInteger),
        _int("tokens_out", sa.BigInteger),
        _int("fallbacks"),
        *(_int(f"h{i:02d}") for i in range(_HISTOGRAM_BINS)),
        sa.PrimaryKeyConstraint("bucket_ms", *_DIMENSIONS, name="pk_request_rollup"),
        if_not_exists=True,
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    _create_facts()
    _create_rollup()
    _backfill()


def downgrade() -> None:
    op.drop_table("request_rollup", if_exists=True)
    op.drop_index("uq_request_facts_request_id", table_name="request_facts", if_exists=True)
    op.drop_table("request_facts", if_exists=True)


def _backfill() -> None:
    """Facts and rollup sums for every usage event already stored (a request's first event)."""
    from rolecall.storage.sql_analytics_tables import fact_row, fitted, rollup_rows

    bind = op.get_bind()
    meta = sa.MetaData()
    usage = sa.Table("usage_events", meta, autoload_with=bind)
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    facts = sa.Table("request_facts", meta, autoload_with=bind)
    rollup = sa.Table("request_rollup", meta, autoload_with=bind)
    query = (
        sa.select(usage.c.artifact, decisions.c.chosen_endpoint_id, decisions.c.strategy)
        .select_from(
            usage.outerjoin(
                decisions, decisions.c.routing_decision_id == usage.c.routing_decision_id
            )
        )
        .order_by(usage.c.timestamp_ms, usage.c.event_id)
    )
    batch: list[dict[str, Any]] = []
    for data, decision in _stored_inputs(bind, query):
        batch.append(fact_row(data, decision))
        if len(batch) >= _BATCH:
            _write(bind, facts, batch)
            batch = []
    _write(bind, facts, batch)
    # the rollup is summed from the facts once they are all in (one row per bucket and key);
    # rows built by later builders are cut to this revision's columns (0008 rebuilds it)
    rows = fitted(rollup_rows(fact_row(a, d) for a, d in _stored_inputs(bind, query)), rollup)
    for first in range(0, len(rows), _BATCH):
        bind.execute(rollup.insert(), rows[first : first + _BATCH])


def _stored_inputs(bind: Any, query: Any) -> Any:
    """(usage artifact, decision facts) of each request's first usage event, again."""
    seen: set[str] = set()
    for artifact, chosen, strategy in bind.execute(query).all():
        data = dict(artifact)
        if data["request_id"] not in seen:
            seen.add(data["request_id"])
            yield data, {"chosen_endpoint_id": chosen, "strategy": strategy}


def _write(bind: Any, facts: sa.Table, batch: list[dict[str, Any]]) -> None:
    from rolecall.storage.sql_analytics_tables import fitted

    if batch:
        bind.execute(facts.insert(), fitted(batch, facts))
