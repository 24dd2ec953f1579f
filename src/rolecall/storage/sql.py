"""`SqlStorage`: the per-concern SQL stores over one SQLAlchemy Core engine, SQLite or PostgreSQL.

Owns `SqlStorage` (the engine, and one store per kind of record as an attribute) and `open_storage`
(engine, then migrations to head, then the storage). The same statements run on both databases;
see `rolecall.storage.sql_engine` for the SQLite connection settings. Every write runs in its own
transaction unless the caller opens a `batch`, so a failure loses only the batch being written.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Engine

from rolecall.storage.analytics import SqlAnalytics
from rolecall.storage.benchmarks import SqlBenchmarks
from rolecall.storage.changes import SqlChanges, SqlJobRuns, SqlSharedDocs
from rolecall.storage.cooldowns import SqlCooldowns
from rolecall.storage.database import Database
from rolecall.storage.decisions import SqlDecisions
from rolecall.storage.feedback import SqlFeedback
from rolecall.storage.keys import SqlApiKeys
from rolecall.storage.migrate import migrate as run_migrations
from rolecall.storage.profiles import SqlProfiles
from rolecall.storage.prompts import SqlPrompts
from rolecall.storage.responses import SqlResponses
from rolecall.storage.samples import SqlSamples
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.traces import SqlTraces
from rolecall.storage.usage import SqlUsage
from rolecall.storage.usage_rollup import SqlUsageRollup

__all__ = ["SqlStorage", "open_storage"]


class SqlStorage:
    """Every store on the database at ``url``; safe to share between threads.

    The schema must already exist: use `open_storage`, or `rolecall.storage.migrate.migrate`.
    """

    def __init__(self, url: str) -> None:
        self._db = Database(create_storage_engine(url))
        self.samples = SqlSamples(self._db)
        self.profiles = SqlProfiles(self._db)
        self.decisions = SqlDecisions(self._db)
        self.traces = SqlTraces(self._db)
        self.usage = SqlUsage(self._db)
        self.usage_rollup = SqlUsageRollup(self._db)  # usage per key, team, user and tag
        self.analytics = SqlAnalytics(self._db, self.usage_rollup)
        self.keys = SqlApiKeys(self._db)
        self.cooldowns = SqlCooldowns(self._db)
        self.benchmarks = SqlBenchmarks(self._db)
        self.changes = SqlChanges(self._db)
        self.shared_docs = SqlSharedDocs(self._db)
        self.job_runs = SqlJobRuns(self._db)
        self.responses = SqlResponses(self._db)  # the Responses API's stored responses
        self.feedback = SqlFeedback(self._db)  # feedback on answered requests
        self.prompts = SqlPrompts(self._db)  # captured prompts (routing.prompt_capture)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations, diagnostics and tests)."""
        return self._db.engine

    @property
    def database(self) -> Database:
        """The shared statement helpers, for stores built beside these (limit counters)."""
        return self._db

    def batch(self) -> AbstractContextManager[None]:
        """Run several writes, of any stores, in one transaction: all of them commit, or none."""
        return self._db.batch()

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file now, without waiting for readers
        (``PASSIVE``); nothing on PostgreSQL. Writers call it when idle, so that the copy does not
        happen in a commit made under load (see ``SQLITE_AUTOCHECKPOINT_PAGES``)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def ping(self) -> None:
        """``SELECT 1`` on a pooled connection: raises when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        """Close every pooled connection; the storage must not be used afterwards."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStorage({self.engine.url.render_as_string(hide_password=True)!r})"


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
