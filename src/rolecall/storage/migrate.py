"""Schema migrations, run from code: `migrate` upgrades a database to the latest revision.

Owns the Alembic `Config` built in code (no ``alembic.ini``): ``script_location`` is the
``migrations`` folder shipped inside this package, and the connection is handed to ``env.py``
through ``config.attributes`` so SQLite connections get the same settings as at run time.
Upgrading an up-to-date database does nothing, so calling `migrate` on every start is safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from rolecall.storage.sql_engine import create_storage_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "migrate"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for rolecall's migrations, bound to ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of rolecall."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database at ``engine`` is at (None before the first migration)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str | Engine) -> None:
    """Upgrade the database at ``url`` (a URL, or an engine to reuse) to the head revision."""
    engine = create_storage_engine(url) if isinstance(url, str) else url
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        if isinstance(url, str):
            engine.dispose()
