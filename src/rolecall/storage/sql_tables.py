"""The SQL schema of rolecall's storage as SQLAlchemy Core tables.

Owns `METADATA` and every `Table`. This is the *current* schema; the Alembic revisions in
``migrations/versions`` build it step by step, and a test checks that the migrated database and
this metadata agree on both SQLite and PostgreSQL. Every constraint and index has an explicit name.

Conventions: timestamps are BIGINT milliseconds since the epoch; protocol artifacts are kept whole
in a JSON column beside the columns that queries filter or sort on. There are no foreign keys
between telemetry tables on purpose: spans, events and usage are written asynchronously and may
arrive before (or without) their decision.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

__all__ = [
    "API_KEYS",
    "COOLDOWNS",
    "DECISIONS",
    "LIMIT_COUNTERS",
    "LIMIT_LOG",
    "METADATA",
    "PROFILES",
    "REQUEST_TRACES",
    "SAMPLES",
    "USAGE_EVENTS",
]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

METADATA: Final = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an "INTEGER PRIMARY KEY" (the rowid alias), not a BIGINT one.
_ROW_ID: Final = BigInteger().with_variant(Integer(), "sqlite")

SAMPLES: Final = Table(
    "samples",
    METADATA,
    Column("sample_id", _ROW_ID, primary_key=True, autoincrement=True),
    Column("endpoint_id", Text, nullable=False),
    Column("endpoint_version", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("latency_ms", Double),
    Column("tokens_per_sec", Double),
    Column("cold_start_ms", Double),
    Column("cost_per_1k_tokens", Double),
    Column("cost_usd", Double),
    Column("judge_score", Double),
    Column("error_class", Text),
    Column("difficulty_bucket", Text),
    Column("membership_revision", Text),
    Column("benchmark_mode", Text),
    Column("case_key", Text),  # the benchmark case a sample graded (migration 0012)
    Column("request_id", Text),  # the live request a shadow grade graded (migration 0013)
    Index("ix_samples_endpoint_id_timestamp_ms", "endpoint_id", "timestamp_ms"),
    Index("ix_samples_source", "source"),
    Index("ix_samples_request_id", "request_id"),
)

PROFILES: Final = Table(
    "profiles",
    METADATA,
    Column("endpoint_id", Text, primary_key=True),
    Column("endpoint_version", Text, nullable=False),
    Column("measured_at_ms", BigInteger, nullable=False),
    Column("artifact", JSON, nullable=False),
)

DECISIONS: Final = Table(
    "decisions",
    METADATA,
    Column("routing_decision_id", Text, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("chosen_endpoint_id", Text),
    Column("strategy", Text),
    Column("created_ms", BigInteger, nullable=False),
    Column("artifact", JSON, nullable=False),
    Column("plan", JSON),  # the routing mode's plan (migration 0010); null: nothing planned
    Index("ix_decisions_request_id", "request_id"),
    Index("ix_decisions_created_ms", "created_ms"),
    Index("ix_decisions_chosen_endpoint_id_created_ms", "chosen_endpoint_id", "created_ms"),
)

# One row per request: its spans and events (see `rolecall.observe.request_trace`), read by request.
REQUEST_TRACES: Final = Table(
    "request_traces",
    METADATA,
    Column("request_id", Text, primary_key=True),
    Column("trace_id", Text, nullable=False),
    Column("routing_decision_id", Text, nullable=False),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("spans", JSON, nullable=False),
    Column("events", JSON, nullable=False),
)

USAGE_EVENTS: Final = Table(
    "usage_events",
    METADATA,
    Column("event_id", Text, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("routing_decision_id", Text, nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("artifact", JSON, nullable=False),
    Column("app_id", Text),  # the gateway key that made the request ("default" without keys)
    # who the request was for (migration 0007_identity): the key's team then, the request's
    # `user`, the client's `x-request-id` and the request's `metadata` (whose `tags` it lists)
    Column("team", Text),
    Column("user_id", Text),
    Column("client_request_id", Text),
    Column("request_metadata", JSON),
    Index("ix_usage_events_request_id", "request_id"),
    Index("ix_usage_events_client_request_id", "client_request_id"),
    Index("ix_usage_events_endpoint_id_timestamp_ms", "endpoint_id", "timestamp_ms"),
    Index("ix_usage_events_timestamp_ms", "timestamp_ms"),
    Index("ix_usage_events_app_id_timestamp_ms", "app_id", "timestamp_ms"),
)

API_KEYS: Final = Table(
    "api_keys",
    METADATA,
    Column("key_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key_hash", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger),
    # the key's own limits (rolecall.limits; migration 0006_limits): None is no such limit
    Column("team", Text),
    Column("budget_micro_usd", BigInteger),
    Column("budget_tokens", BigInteger),
    Column("budget_per", Text),
    Column("rpm", BigInteger),
    Column("tpm", BigInteger),
    Column("updated_ms", BigInteger, nullable=False, server_default="0"),
    Index("uq_api_keys_key_hash", "key_hash", unique=True),
)

# Budget and rate-limit counters for deployments without Redis (rolecall.storage.limit_counters).
# A calendar window's counter is one row, named by scope, metric and window instance; a rolling
# window's row only serialises its reservations, whose amounts are rows of LIMIT_LOG until they
# leave the window.
LIMIT_COUNTERS: Final = Table(
    "limit_counters",
    METADATA,
    Column("counter", Text, primary_key=True),
    Column("used", BigInteger, nullable=False),
    # no index on expires_ms: the cleanup scans this small table once a minute, and an index
    # on a column every reservation rewrites would cost each of them an index entry
    Column("expires_ms", BigInteger, nullable=False),
)

LIMIT_LOG: Final = Table(
    "limit_log",
    METADATA,
    Column("counter", Text, primary_key=True),
    Column("reservation_id", Text, primary_key=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Index("ix_limit_log_counter_at_ms", "counter", "at_ms"),
)

COOLDOWNS: Final = Table(
    "cooldowns",
    METADATA,
    Column("endpoint_id", Text, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("until_ms", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Benchmarking (rolecall.benchmark; migration 0002_benchmark). Results are keyed by run, endpoint
# and case so a resumed run can never grade the same case twice.
BENCH_RUNS: Final = Table(
    "bench_runs",
    METADATA,
    Column("run_id", Text, primary_key=True),
    Column("mode", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger),
    Column("judge_id", Text),
    Column("cases_total", Integer, nullable=False),
    Column("config", JSON, nullable=False),
    Index("ix_bench_runs_started_ms", "started_ms"),
)

BENCH_RESULTS: Final = Table(
    "bench_results",
    METADATA,
    Column("run_id", Text, primary_key=True),
    Column("endpoint_id", Text, primary_key=True),
    Column("case_key", Text, primary_key=True),
    Column("suite", Text, nullable=False),
    Column("case_id", Text, nullable=False),
    Column("bucket", Text, nullable=False),
    Column("task", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("score", Double),
    Column("latency_ms", Double),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Double),
    Column("created_ms", BigInteger, nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_bench_results_endpoint_id", "endpoint_id"),
)

BENCH_PAIRS: Final = Table(
    "bench_pairs",
    METADATA,
    Column("run_id", Text, primary_key=True),
    Column("case_key", Text, primary_key=True),
    Column("endpoint_a", Text, primary_key=True),
    Column("endpoint_b", Text, primary_key=True),
    Column("winner", Text),
    Column("detail", JSON, nullable=False),
)
