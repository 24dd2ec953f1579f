"""Benchmarking: runs, graded case results and pairwise comparisons.

Revision ID: 0002_benchmark
Revises: 0001_initial
Create Date: 2026-11-29

Written out in full (not built from ``sql_tables``) so later metadata changes never rewrite
history; ``IF NOT EXISTS`` keeps a re-run harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_benchmark"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _ms(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _real(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "bench_runs",
        _text("run_id"),
        _text("mode"),
        _text("status"),
        _ms("started_ms"),
        _ms("finished_ms", nullable=True),
        _text("judge_id", nullable=True),
        sa.Column("cases_total", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_bench_runs"),
        if_not_exists=True,
    )
    op.create_table(
        "bench_results",
        _text("run_id"),
        _text("endpoint_id"),
        _text("case_key"),
        _text("suite"),
        _text("case_id"),
        _text("bucket"),
        _text("task"),
        _text("status"),
        _real("score"),
        _real("latency_ms"),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        _real("cost_usd"),
        _ms("created_ms"),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "endpoint_id", "case_key", name="pk_bench_results"),
        if_not_exists=True,
    )
    op.create_table(
        "bench_pairs",
        _text("run_id"),
        _text("case_key"),
        _text("endpoint_a"),
        _text("endpoint_b"),
        _text("winner", nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "run_id", "case_key", "endpoint_a", "endpoint_b", name="pk_bench_pairs"
        ),
        if_not_exists=True,
    )
    op.create_index("ix_bench_runs_started_ms", "bench_runs", ["started_ms"], if_not_exists=True)
    op.create_index(
        "ix_bench_results_endpoint_id", "bench_results", ["endpoint_id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_bench_results_endpoint_id", table_name="bench_results", if_exists=True)
    op.drop_index("ix_bench_runs_started_ms", table_name="bench_runs", if_exists=True)
    for table in ("bench_pairs", "bench_results", "bench_runs"):
        op.drop_table(table, if_exists=True)
