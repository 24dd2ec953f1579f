"""Migrations: idempotent, and the migrated schema is exactly `sql_tables.METADATA`."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import rolecall.storage.migrations.versions as versions_package
from rolecall.storage import migrate, open_storage
from rolecall.storage.migrate import current_revision, head_revision
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import METADATA

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
