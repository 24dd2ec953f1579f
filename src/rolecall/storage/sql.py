"""`SqlStorage`: every storage port on one SQLAlchemy Core engine, SQLite or PostgreSQL.

Owns `SqlStorage` (the composition of the per-port mixins) and `open_storage` (engine, then
migrations to head, then the storage). The same statements run on both databases; see
`rolecall.storage.sql_engine` for the SQLite connection settings. Every write runs in its own
transaction, so a failure loses only the batch being written, never one already committed.
"""

from __future__ import annotations

from rolecall.storage.migrate import migrate as run_migrations
from rolecall.storage.sql_admin import SqlApiKeyMixin, SqlCooldownMixin
from rolecall.storage.sql_analytics import SqlAnalyticsMixin
from rolecall.storage.sql_benchmark import SqlBenchmarkMixin
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_measurements import SqlProfileMixin, SqlSampleMixin
from rolecall.storage.sql_telemetry import SqlDecisionMixin, SqlTraceMixin, SqlUsageMixin

__all__ = ["SqlStorage", "open_storage"]


class SqlStorage(
    SqlAnalyticsMixin,  # first: its add_usage also keeps the console's request facts
    SqlSampleMixin,
    SqlProfileMixin,
    SqlDecisionMixin,
    SqlTraceMixin,
    SqlUsageMixin,
    SqlApiKeyMixin,
    SqlCooldownMixin,
    SqlBenchmarkMixin,
):
    """Every storage port on the database at ``url``; safe to share between threads.

    The schema must already exist: use `open_storage`, or `rolecall.storage.migrate.migrate`.
    """

    def __init__(self, url: str) -> None:
        super().__init__(create_storage_engine(url))

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file now, without waiting for readers
        (``PASSIVE``); nothing on PostgreSQL. Writers call it when idle, so that the copy does not
        happen in a commit made under load (see ``SQLITE_AUTOCHECKPOINT_PAGES``)."""
        if self._engine.dialect.name == "sqlite":
            with self._engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStorage({self._engine.url.render_as_string(hide_password=True)!r})"


def open_storage(url: str, *, migrate: bool = True) -> SqlStorage:
    """Open the storage at ``url``, first bringing its schema to the latest revision."""
    storage = SqlStorage(url)
    if migrate:
        try:
            run_migrations(storage.engine)
        except BaseException:
            storage.close()
            raise
    return storage
