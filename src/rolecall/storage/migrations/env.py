"""Alembic environment for rolecall's storage schema.

Run by `rolecall.storage.migrate.migrate`, which passes an open connection in
``config.attributes["connection"]``. Without one (a developer running the ``alembic`` command with
``-x url=...`` or ``sqlalchemy.url``), it opens its own engine with the storage's settings.
Offline mode (``--sql``) renders the DDL for the given URL. Logging is left as the host configured.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import METADATA

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=<sqlalchemy url> or set sqlalchemy.url")
    return url


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=METADATA)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_storage_engine(_url())
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=METADATA, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
