"""Migrations: idempotent, and the migrated schema is exactly `sql_tables.METADATA`."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from rolecall.storage import migrate, open_storage
from rolecall.storage.migrate import current_revision, head_revision
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import METADATA


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
        assert current_revision(storage.engine) == head_revision() == "0001_initial"
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
