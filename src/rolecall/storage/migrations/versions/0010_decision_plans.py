"""The routing mode's plan beside each decision: ``decisions.plan``.

Revision ID: 0010_decision_plans
Revises: 0009_responses
Create Date: 2026-12-03

A request routed in the difficulty, controller or hybrid mode is planned before the router runs:
its classified difficulty and the signals behind it, the controller's directives (applied and
rejected), the hybrid arbitration, and each candidate's difficulty advisory. The RouterDecision
artifact is the protocol's closed schema, so the plan is kept in a column of its own (JSON, null
for the baseline and learned modes).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_decision_plans"
down_revision: str | None = "0009_responses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("plan", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("plan")
