"""Console analytics: the ``request_facts`` table, its indexes, and a backfill from usage events.

Revision ID: 0003_console
Revises: 0002_benchmark
Create Date: 2026-11-29

One flat row per request lets the console filter, group and paginate 100k requests with plain
indexed SQL on SQLite and PostgreSQL alike. The rows are derived from ``usage_events`` (plus the
strategy and chosen endpoint of each decision), so the backfill rebuilds them for data stored
before this revision; it reads in batches and never modifies the source tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_console"
down_revision: str | None = "0002_benchmark"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ix_request_facts_timestamp_ms", ("timestamp_ms",)),
    ("ix_request_facts_endpoint_id_timestamp_ms", ("endpoint_id", "timestamp_ms")),
    ("ix_request_facts_status_family_timestamp_ms", ("status_family", "timestamp_ms")),
    ("ix_request_facts_role_id_timestamp_ms", ("role_id", "timestamp_ms")),
)
_BATCH = 2000
_CLIENT_ERRORS = frozenset({"invalid_request", "no_eligible_endpoint"})


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "request_facts",
        _text("request_id", nullable=False),
        _text("routing_decision_id", nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
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
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_request_facts"),
        if_not_exists=True,
    )
    for name, columns in _INDEXES:
        op.create_index(name, "request_facts", list(columns), if_not_exists=True)
    _backfill()


def downgrade() -> None:
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="request_facts", if_exists=True)
    op.drop_table("request_facts", if_exists=True)


def _row(usage: Mapping[str, Any], chosen: str | None, strategy: str | None) -> dict[str, Any]:
    error = usage.get("error_class")
    cost = usage.get("cost_actual")
    if cost is None and not error:
        cost = usage.get("cost_estimate")
    family = "2xx" if not error else ("4xx" if error in _CLIENT_ERRORS else "5xx")
    return {
        "request_id": usage["request_id"],
        "routing_decision_id": usage["routing_decision_id"],
        "timestamp_ms": int(usage["timestamp_ms"]),
        "endpoint_id": usage["endpoint_id"],
        "chosen_endpoint_id": chosen,
        "model_id": usage.get("model_id"),
        "provider_kind": usage.get("provider_kind"),
        "source": usage.get("sample_source") or "live_request",
        "role_id": None,
        "task_type": None,
        "strategy": strategy,
        "status_family": family,
        "error_class": error,
        "latency_ms": float(usage.get("latency_ms") or 0.0),
        "tokens_in": int(usage.get("tokens_in") or 0),
        "tokens_out": int(usage.get("tokens_out") or 0),
        "cost_usd": None if cost is None else float(cost),
    }


def _backfill() -> None:
    """Fact rows for every usage event already stored (the first event of a request wins)."""
    bind = op.get_bind()
    meta = sa.MetaData()
    usage = sa.Table("usage_events", meta, autoload_with=bind)
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    facts = sa.Table("request_facts", meta, autoload_with=bind)
    query = (
        sa.select(usage.c.artifact, decisions.c.chosen_endpoint_id, decisions.c.strategy)
        .select_from(
            usage.outerjoin(
                decisions, decisions.c.routing_decision_id == usage.c.routing_decision_id
            )
        )
        .where(~sa.exists().where(facts.c.request_id == usage.c.request_id))
        .order_by(usage.c.timestamp_ms, usage.c.event_id)
    )
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    for artifact, chosen, strategy in bind.execute(query).all():
        data = dict(artifact)
        if data.get("request_id") in seen:
            continue
        seen.add(data["request_id"])
        batch.append(_row(data, chosen, strategy))
        if len(batch) >= _BATCH:
            bind.execute(facts.insert(), batch)
            batch = []
    if batch:
        bind.execute(facts.insert(), batch)
