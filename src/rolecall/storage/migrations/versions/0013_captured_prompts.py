"""Prompts of live requests, kept when prompt capture is on: ``captured_prompts``; and the request
a shadow grade graded: ``samples.request_id``.

Revision ID: 0013_captured_prompts
Revises: 0012_sample_case_keys
Create Date: 2026-12-05

With ``routing.prompt_capture`` on, an answered request's prompt (its conversation as text, cut
to a configured length) is stored with its records, one row per request id. Scored feedback on
the request, or a shadow grade of its answer, then makes a learned-routing record of it; the
grade finds its prompt through the sample's ``request_id`` (null for every other sample, and for
samples stored before this revision). Rows leave with age (``created_ms``). The schema is written
out here so this revision keeps meaning what it meant when it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_captured_prompts"
down_revision: str | None = "0012_sample_case_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "captured_prompts",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_captured_prompts_created_ms", "captured_prompts", ["created_ms"])
    op.add_column("samples", sa.Column("request_id", sa.Text(), nullable=True))
    op.create_index("ix_samples_request_id", "samples", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_samples_request_id", table_name="samples")
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("request_id")
    op.drop_index("ix_captured_prompts_created_ms", table_name="captured_prompts")
    op.drop_table("captured_prompts")
