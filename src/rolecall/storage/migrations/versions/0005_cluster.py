"""Shared state between gateway processes: ``state_changes``, ``shared_docs``, ``job_runs``.

Revision ID: 0005_cluster
Revises: 0004_request_traces
Create Date: 2026-12-03

The change log every worker and replica reads for "re-read this" notices, the documents they all
route on (the operator's overrides, until now a file in one host's data directory), and which
process last ran each background job. The schema is written out here so this revision keeps
meaning what it meant when it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cluster"
down_revision: str | None = "0004_request_traces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "state_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_state_changes_at_ms", "state_changes", ["at_ms"])
    op.create_table(
        "shared_docs",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text(), primary_key=True),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("ran_ms", sa.BigInteger(), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("shared_docs")
    op.drop_index("ix_state_changes_at_ms", table_name="state_changes")
    op.drop_table("state_changes")
