"""The benchmark case each sample graded: ``samples.case_key``.

Revision ID: 0012_sample_case_keys
Revises: 0011_feedback
Create Date: 2026-12-04

A profile's confidence counts independent measurements, and a benchmark case graded again (a
repeated quick run) is not a new one; telling them apart needs the case. Null for live samples
and for benchmark samples stored before this revision (each counted on its own, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sample_case_keys"
down_revision: str | None = "0011_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("samples", sa.Column("case_key", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("case_key")
