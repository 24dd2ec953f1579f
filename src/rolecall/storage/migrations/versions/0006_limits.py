"""Budgets and rate limits: keys carry limits, usage names its key, SQL counters.

Revision ID: 0006_limits
Revises: 0005_cluster
Create Date: 2026-12-03

``api_keys`` gains a team and its own limits (USD in micro-USD, tokens, the budgets' window,
requests and tokens per minute) and ``updated_ms``, so a change of limits reaches every gateway
process's key cache. ``usage_events`` gains ``app_id`` (the key that made the request; existing
rows keep NULL: they were all made before keys were told apart, as "default"). ``limit_counters``
and ``limit_log`` hold the counters of deployments without Redis.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_limits"
down_revision: str | None = "0005_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_COLUMNS = (
    ("team", sa.Text),
    ("budget_micro_usd", sa.BigInteger),
    ("budget_tokens", sa.BigInteger),
    ("budget_per", sa.Text),
    ("rpm", sa.BigInteger),
    ("tpm", sa.BigInteger),
)


def _ms(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name, kind in _KEY_COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))
        batch.add_column(
            sa.Column("updated_ms", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.add_column("usage_events", sa.Column("app_id", sa.Text(), nullable=True))
    op.create_index(
        "ix_usage_events_app_id_timestamp_ms", "usage_events", ["app_id", "timestamp_ms"]
    )
    op.create_table(
        "limit_counters",
        sa.Column("counter", sa.Text(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        _ms("expires_ms"),
        sa.PrimaryKeyConstraint("counter", name="pk_limit_counters"),
    )
    op.create_table(
        "limit_log",
        sa.Column("counter", sa.Text(), nullable=False),
        sa.Column("reservation_id", sa.Text(), nullable=False),
        _ms("at_ms"),
        _ms("expires_ms"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("counter", "reservation_id", name="pk_limit_log"),
    )
    op.create_index("ix_limit_log_counter_at_ms", "limit_log", ["counter", "at_ms"])


def downgrade() -> None:
    op.drop_table("limit_log")
    op.drop_table("limit_counters")
    op.drop_index("ix_usage_events_app_id_timestamp_ms", table_name="usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("app_id")
    with op.batch_alter_table("api_keys") as batch:
        for name in ("updated_ms", *(name for name, _ in reversed(_KEY_COLUMNS))):
            batch.drop_column(name)
