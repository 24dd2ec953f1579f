"""Request outcomes: served, failed, refused or decision-only, in the facts and the rollup.

Revision ID: 0008_request_outcomes
Revises: 0007_identity
Create Date: 2026-12-05

``request_facts`` gains ``outcome``. Until now a refused request (a spent budget, no eligible
endpoint) counted as a fallback on the facts but not on the rollup, and a decision-only call as a
served request, so short and long windows of the console disagreed. Stored facts get theirs from
their error class; a request without an error, tokens or any provider span in its trace was a
decision-only call (its cost estimate is dropped: nothing ran). ``request_rollup`` is derived
data: it is dropped and rebuilt from the facts with the counters of today's builders (``outcome``
becomes a key part; ``failed``, ``refused``, ``decisions`` and ``executed`` are new), as revision
0003 built it; the downgrade rebuilds the earlier shape the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_request_outcomes"
down_revision: str | None = "0007_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_HISTOGRAM_BINS = 64
_REFUSALS = ("budget_exceeded", "no_eligible_endpoint")
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
_COUNTERS = ("requests", "ok", "costed", "fallbacks")
_NEW_COUNTERS = ("failed", "refused", "decisions", "executed")


def upgrade() -> None:
    op.add_column(
        "request_facts",
        sa.Column("outcome", sa.Text(), nullable=False, server_default="served"),
    )
    bind = op.get_bind()
    facts = sa.Table("request_facts", sa.MetaData(), autoload_with=bind)
    bind.execute(facts.update().where(facts.c.error_class.in_(_REFUSALS)).values(outcome="refused"))
    failed = sa.and_(facts.c.error_class.is_not(None), facts.c.error_class.not_in(_REFUSALS))
    bind.execute(facts.update().where(failed).values(outcome="failed"))
    _mark_decision_only(bind, facts)
    _rebuild_rollup(bind, with_outcomes=True)


def downgrade() -> None:
    _rebuild_rollup(op.get_bind(), with_outcomes=False)
    # plain SQL: both databases drop a column that is in no key or index (SQLite since 3.35)
    op.execute("ALTER TABLE request_facts DROP COLUMN outcome")


def _mark_decision_only(bind: Any, facts: sa.Table) -> None:
    """Facts of requests that ran nowhere yet did not fail: no error, no tokens, no provider span."""
    traces = sa.Table("request_traces", sa.MetaData(), autoload_with=bind)
    candidates = (
        sa.select(facts.c.request_id, traces.c.spans)
        .select_from(facts.outerjoin(traces, traces.c.request_id == facts.c.request_id))
        .where(facts.c.error_class.is_(None), facts.c.tokens_in == 0, facts.c.tokens_out == 0)
    )
    ids = [
        request_id
        for request_id, spans in bind.execute(candidates).all()
        if spans is not None and not _ran(spans)
    ]
    for first in range(0, len(ids), _BATCH):
        chunk = ids[first : first + _BATCH]
        bind.execute(
            facts.update()
            .where(facts.c.request_id.in_(chunk))
            .values(outcome="decision_only", cost_usd=None)
        )


def _ran(spans: list[dict[str, Any]]) -> bool:
    return any(str(s.get("span_type", "")).startswith("provider.") for s in spans)


def _rollup_table(meta: sa.MetaData, *, with_outcomes: bool) -> sa.Table:
    dimensions = (*_DIMENSIONS, "outcome") if with_outcomes else _DIMENSIONS
    counters = (*_COUNTERS, *_NEW_COUNTERS) if with_outcomes else _COUNTERS
    return sa.Table(
        "request_rollup",
        meta,
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in dimensions),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counters),
        sa.Column("latency_sum_ms", sa.Double(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        *(sa.Column(f"h{i:02d}", sa.Integer(), nullable=False) for i in range(_HISTOGRAM_BINS)),
        sa.PrimaryKeyConstraint("bucket_ms", *dimensions, name="pk_request_rollup"),
        sqlite_with_rowid=False,
    )


def _rebuild_rollup(bind: Any, *, with_outcomes: bool) -> None:
    """Drop the rollup and sum it again from the stored facts, in the shape of one side of this
    revision (today's builders, cut to that shape)."""
    from rolecall.storage.sql_analytics_tables import fitted, rollup_rows

    op.drop_table("request_rollup")
    rollup = _rollup_table(sa.MetaData(), with_outcomes=with_outcomes)
    rollup.create(bind)
    rows = fitted(rollup_rows(_facts(bind)), rollup)
    for first in range(0, len(rows), _BATCH):
        bind.execute(rollup.insert(), rows[first : first + _BATCH])


def _facts(bind: Any) -> Iterator[dict[str, Any]]:
    facts = sa.Table("request_facts", sa.MetaData(), autoload_with=bind)
    for row in bind.execute(sa.select(facts)).all():
        yield dict(row._mapping)
