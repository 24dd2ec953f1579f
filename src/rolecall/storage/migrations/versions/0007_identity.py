"""Request identity and usage per key, team, user and tag.

Revision ID: 0007_identity
Revises: 0006_limits
Create Date: 2026-12-05

``usage_events`` gains who each request was for: the key's team at the time, the request's
``user``, the client's ``x-request-id`` (indexed: a request is found by either id) and its
``metadata``. ``usage_rollup`` sums requests, tokens and USD per hour and key, team, user or
tag; it is backfilled for keys from the requests already stored (their team, user and tags were
not recorded). Like the console's rollup it holds derived data only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity"
down_revision: str | None = "0006_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR_MS = 3_600_000
_IDENTITY_COLUMNS = ("team", "user_id", "client_request_id")


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        for name in _IDENTITY_COLUMNS:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column("request_metadata", sa.JSON(), nullable=True))
    op.create_index("ix_usage_events_client_request_id", "usage_events", ["client_request_id"])
    op.create_table(
        "usage_rollup",
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("costed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "bucket_ms", "value", name="pk_usage_rollup"),
        sqlite_with_rowid=False,
    )
    _backfill_keys()


def downgrade() -> None:
    op.drop_table("usage_rollup")
    op.drop_index("ix_usage_events_client_request_id", table_name="usage_events")
    with op.batch_alter_table("usage_events") as batch:
        for name in ("request_metadata", *reversed(_IDENTITY_COLUMNS)):
            batch.drop_column(name)


def _backfill_keys() -> None:
    """One statement on the server: the stored requests' facts summed per hour and key (the key
    of a request's usage events; ``default`` before keys were told apart)."""
    bind = op.get_bind()
    meta = sa.MetaData()
    facts = sa.Table("request_facts", meta, autoload_with=bind)
    usage = sa.Table("usage_events", meta, autoload_with=bind)
    rollup = sa.Table("usage_rollup", meta, autoload_with=bind)
    apps = (
        sa.select(usage.c.request_id, sa.func.min(usage.c.app_id).label("app_id"))
        .group_by(usage.c.request_id)
        .subquery()
    )
    hour = (facts.c.timestamp_ms - facts.c.timestamp_ms % _HOUR_MS).label("bucket_ms")
    value = sa.func.coalesce(apps.c.app_id, "default").label("value")
    ok = sa.func.coalesce(sa.func.sum(sa.case((facts.c.status_family == "2xx", 1), else_=0)), 0)
    query = (
        sa.select(
            hour,
            sa.literal("key").label("dimension"),
            value,
            sa.func.count().label("requests"),
            ok.label("ok"),
            sa.func.coalesce(sa.func.sum(facts.c.tokens_in), 0).label("tokens_in"),
            sa.func.coalesce(sa.func.sum(facts.c.tokens_out), 0).label("tokens_out"),
            sa.func.coalesce(sa.func.sum(facts.c.cost_usd), 0.0).label("cost_usd"),
            sa.func.count(facts.c.cost_usd).label("costed"),
        )
        .select_from(facts.outerjoin(apps, apps.c.request_id == facts.c.request_id))
        .group_by(hour, value)
    )
    columns = ["bucket_ms", "dimension", "value", "requests", "ok"]
    columns += ["tokens_in", "tokens_out", "cost_usd", "costed"]
    bind.execute(rollup.insert().from_select(columns, query))
