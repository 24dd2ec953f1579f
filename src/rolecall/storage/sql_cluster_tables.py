"""Tables of the state gateway processes share: the change log, shared documents, job runs.

`STATE_CHANGES` is an append-only log of "something changed, re-read it" notices (kind and key,
never the state itself: the durable copy stays in its own table); every process reads what is new
since the last id it saw. `SHARED_DOCS` holds small JSON documents every process routes on (the
operator's overrides). `JOB_RUNS` records which process last ran each background job, and when.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text

from rolecall.storage.sql_tables import METADATA

__all__ = ["JOB_RUNS", "SHARED_DOCS", "STATE_CHANGES"]

STATE_CHANGES: Final = Table(
    "state_changes",
    METADATA,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_state_changes_at_ms", "at_ms"),
)

SHARED_DOCS: Final = Table(
    "shared_docs",
    METADATA,
    Column("name", Text, primary_key=True),
    Column("body", Text, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

JOB_RUNS: Final = Table(
    "job_runs",
    METADATA,
    Column("job", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("ran_ms", BigInteger, nullable=False),
    Column("runs", BigInteger, nullable=False),
)
