"""Initial schema: samples, profiles, decisions, trace spans and events, usage, API keys, cooldowns.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

Written out in full rather than built from ``sql_tables`` so that later changes to the metadata
never rewrite history. Tables and indexes are created ``IF NOT EXISTS``, so re-running this over a
database whose version table was lost is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments an "INTEGER PRIMARY KEY" (the rowid alias), not a BIGINT one.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_INDEXES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("ix_samples_endpoint_id_timestamp_ms", "samples", ("endpoint_id", "timestamp_ms"), False),
    ("ix_samples_source", "samples", ("source",), False),
    ("ix_decisions_request_id", "decisions", ("request_id",), False),
    ("ix_decisions_created_ms", "decisions", ("created_ms",), False),
    (
        "ix_decisions_chosen_endpoint_id_created_ms",
        "decisions",
        ("chosen_endpoint_id", "created_ms"),
        False,
    ),
    (
        "ix_trace_spans_request_id_started_at_ms",
        "trace_spans",
        ("request_id", "started_at_ms"),
        False,
    ),
    ("ix_trace_spans_routing_decision_id", "trace_spans", ("routing_decision_id",), False),
    (
        "ix_trace_events_request_id_timestamp_ms",
        "trace_events",
        ("request_id", "timestamp_ms"),
        False,
    ),
    ("ix_trace_events_routing_decision_id", "trace_events", ("routing_decision_id",), False),
    ("ix_trace_events_trace_id", "trace_events", ("trace_id",), False),
    ("ix_usage_events_request_id", "usage_events", ("request_id",), False),
    (
        "ix_usage_events_endpoint_id_timestamp_ms",
        "usage_events",
        ("endpoint_id", "timestamp_ms"),
        False,
    ),
    ("ix_usage_events_timestamp_ms", "usage_events", ("timestamp_ms",), False),
    ("uq_api_keys_key_hash", "api_keys", ("key_hash",), True),
)


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _ms(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _real(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=True)


def _artifact() -> sa.Column[object]:
    return sa.Column("artifact", sa.JSON(), nullable=False)


def _create_measurement_tables() -> None:
    op.create_table(
        "samples",
        sa.Column("sample_id", _ROW_ID, autoincrement=True, nullable=False),
        _text("endpoint_id"),
        _text("endpoint_version"),
        _text("source"),
        _ms("timestamp_ms"),
        *(
            _real(name)
            for name in (
                "latency_ms",
                "tokens_per_sec",
                "cold_start_ms",
                "cost_per_1k_tokens",
                "cost_usd",
                "judge_score",
            )
        ),
        *(
            _text(name, nullable=True)
            for name in (
                "error_class",
                "difficulty_bucket",
                "membership_revision",
                "benchmark_mode",
            )
        ),
        sa.PrimaryKeyConstraint("sample_id", name="pk_samples"),
        if_not_exists=True,
    )
    op.create_table(
        "profiles",
        _text("endpoint_id"),
        _text("endpoint_version"),
        _ms("measured_at_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("endpoint_id", name="pk_profiles"),
        if_not_exists=True,
    )


def _create_telemetry_tables() -> None:
    op.create_table(
        "decisions",
        _text("routing_decision_id"),
        _text("request_id"),
        _text("chosen_endpoint_id", nullable=True),
        _text("strategy", nullable=True),
        _ms("created_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("routing_decision_id", name="pk_decisions"),
        if_not_exists=True,
    )
    op.create_table(
        "trace_spans",
        _text("trace_id"),
        _text("span_id"),
        _text("request_id"),
        _text("routing_decision_id"),
        _ms("started_at_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_trace_spans"),
        if_not_exists=True,
    )
    op.create_table(
        "trace_events",
        _text("event_id"),
        _text("trace_id"),
        _text("request_id"),
        _text("routing_decision_id"),
        _ms("timestamp_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("event_id", name="pk_trace_events"),
        if_not_exists=True,
    )
    op.create_table(
        "usage_events",
        _text("event_id"),
        _text("request_id"),
        _text("routing_decision_id"),
        _text("endpoint_id"),
        _ms("timestamp_ms"),
        _artifact(),
        sa.PrimaryKeyConstraint("event_id", name="pk_usage_events"),
        if_not_exists=True,
    )


def _create_operational_tables() -> None:
    op.create_table(
        "api_keys",
        _text("key_id"),
        _text("name"),
        _text("key_hash"),
        _text("prefix"),
        _ms("created_ms"),
        _ms("revoked_ms", nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        if_not_exists=True,
    )
    op.create_table(
        "cooldowns",
        _text("endpoint_id"),
        sa.Column("level", sa.Integer(), nullable=False),
        _ms("until_ms"),
        _text("reason"),
        sa.Column("failures", sa.Integer(), nullable=False),
        _ms("updated_ms"),
        sa.PrimaryKeyConstraint("endpoint_id", name="pk_cooldowns"),
        if_not_exists=True,
    )


def upgrade() -> None:
    _create_measurement_tables()
    _create_telemetry_tables()
    _create_operational_tables()
    for name, table, columns, unique in _INDEXES:
        op.create_index(name, table, list(columns), unique=unique, if_not_exists=True)


def downgrade() -> None:
    for name, table, _columns, _unique in reversed(_INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
    for table in (
        "cooldowns",
        "api_keys",
        "usage_events",
        "trace_events",
        "trace_spans",
        "decisions",
        "profiles",
        "samples",
    ):
        op.drop_table(table, if_exists=True)
