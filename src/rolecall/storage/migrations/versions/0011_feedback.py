"""Feedback on answered requests: ``feedback``.

Revision ID: 0011_feedback
Revises: 0010_decision_plans
Create Date: 2026-12-04

A client (``POST /v1/feedback``) or an operator (``POST /api/requests/{id}/feedback``) attaches a
score, a label or a comment to an answered request. One row per request and giver, replaced when
the same giver sends again; a scored row is a quality sample of the endpoint that answered. The
schema is written out here so this revision keeps meaning what it meant when it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_feedback"
down_revision: str | None = "0010_decision_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("feedback_id", sa.Text(), primary_key=True),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("routing_decision_id", sa.Text(), nullable=True),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("endpoint_version", sa.Text(), nullable=False),
        sa.Column("giver", sa.Text(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("request_id", "giver", name="uq_feedback_request_id_giver"),
    )
    op.create_index("ix_feedback_endpoint_id_updated_ms", "feedback", ["endpoint_id", "updated_ms"])


def downgrade() -> None:
    op.drop_index("ix_feedback_endpoint_id_updated_ms", table_name="feedback")
    op.drop_table("feedback")
