"""Stored Responses-API responses: ``responses``.

Revision ID: 0009_responses
Revises: 0008_request_outcomes
Create Date: 2026-12-03

``POST /v1/responses`` keeps what it answered (unless the request says ``store: false``) so that
a later request can continue from it (``previous_response_id``) and ``GET``/``DELETE
/v1/responses/{id}`` can find it. One row per response: the Response object and the whole
conversation it ends, both JSON. The schema is written out here so this revision keeps meaning
what it meant when it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_responses"
down_revision: str | None = "0008_request_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("response_id", sa.Text(), primary_key=True),
        sa.Column("app_id", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("conversation", sa.JSON(), nullable=False),
    )
    op.create_index("ix_responses_created_ms", "responses", ["created_ms"])


def downgrade() -> None:
    op.drop_index("ix_responses_created_ms", table_name="responses")
    op.drop_table("responses")
