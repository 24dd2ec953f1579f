"""Migrations: idempotent, and the migrated schema is exactly `sql_tables.METADATA`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, inspect, select

import rolecall.storage.migrations.versions as versions_package
from rolecall.storage import migrate, open_storage
from rolecall.storage.migrate import alembic_config, current_revision, head_revision
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import METADATA
from tests.integration.storage.builders import NOW_MS, event, span

VERSIONS = Path(versions_package.__file__).parent


def test_migrated_schema_matches_metadata(db_url: str) -> None:
    migrate(db_url)
    engine = create_storage_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    storage = open_storage(db_url)
    try:
        # revision ids are the file names, numbered in order: the newest file is the head
        newest = max(p.stem for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
        assert current_revision(storage.engine) == head_revision() == newest
        tables = set(inspect(storage.engine).get_table_names())
        assert set(METADATA.tables) <= tables
    finally:
        storage.close()


def test_open_without_migrating_leaves_database_empty(db_url: str) -> None:
    storage = open_storage(db_url, migrate=False)
    try:
        assert current_revision(storage.engine) is None
    finally:
        storage.close()


def _old_trace_rows(
    items: list[dict[str, object]], id_key: str, at_key: str
) -> list[dict[str, object]]:
    keys = (id_key, "trace_id", "request_id", "routing_decision_id", at_key)
    return [{**{k: item[k] for k in keys}, "artifact": item} for item in items]


def test_traces_move_to_request_traces_and_back(db_url: str) -> None:
    """Spans and events stored one row each (revision 0003) are the same artifacts after the
    upgrade to one row per request, and after a downgrade back."""
    spans = [span("s1"), span("s2", started=NOW_MS - 5), span("s3", request_id="req-2")]
    spans[2]["trace_id"] = "trace-2"
    events = [event("ev1"), event("ev2", request_id="req-3")]
    engine = create_storage_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003_console")
            meta = MetaData()
            old_spans = Table("trace_spans", meta, autoload_with=connection)
            old_events = Table("trace_events", meta, autoload_with=connection)
            connection.execute(
                old_spans.insert(), _old_trace_rows(spans, "span_id", "started_at_ms")
            )
            connection.execute(
                old_events.insert(), _old_trace_rows(events, "event_id", "timestamp_ms")
            )
        migrate(engine)
        storage = open_storage(db_url)
        try:
            assert storage.traces.spans_for("req-1") == [spans[1], spans[0]]
            assert storage.traces.spans_for("req-2") == [spans[2]]
            assert storage.traces.events_for("req-1") == [events[0]]
            assert storage.traces.events_for("req-3") == [events[1]]
            assert storage.traces.spans_for("req-3") == []
        finally:
            storage.close()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0003_console")
            meta = MetaData()
            old_spans = Table("trace_spans", meta, autoload_with=connection)
            moved = connection.execute(select(old_spans.c.artifact)).scalars().all()
            assert sorted(moved, key=lambda s: str(s["span_id"])) == spans
            assert not inspect(connection).has_table("request_traces")
    finally:
        engine.dispose()
