"""Engine creation for the SQL storage: the only place that knows SQLite needs special care.

Owns `create_storage_engine`. For SQLite it creates the database file's parent directory, lets
connections cross threads (the gateway writes from a background thread), and sets on every new
connection ``journal_mode=WAL`` (readers never block the writer), ``foreign_keys=ON`` and
``busy_timeout=5000`` (a writer waits up to 5 s for another instead of failing with "database is
locked"). PostgreSQL gets a pre-ping pool. Statement parameters are never put into error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from rolecall.errors import MissingDependencyError
from rolecall.files import private_file

__all__ = [
    "SQLITE_AUTOCHECKPOINT_PAGES",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_storage_engine",
    "is_sqlite",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 5000
SQLITE_AUTOCHECKPOINT_PAGES: Final = 16_000

_SQLITE_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    # In WAL mode NORMAL is crash-safe for the process (a commit survives a kill -9); only an OS
    # crash can lose the last commits. FULL would fsync on every commit of the background writer.
    "PRAGMA synchronous=NORMAL",
    # A checkpoint copies the log's pages into the database file and syncs both. The record
    # writer checkpoints whenever it has been idle for a moment (`SqlStorage.checkpoint`,
    # docs/performance.md); a commit checkpoints on its own only once the log holds this many
    # pages (64 MB), instead of SQLite's 1,000.
    f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)


def is_sqlite(url: str | URL) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_engine(url: URL) -> Engine:
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if _in_memory(url):
        # One shared connection, or every pooled connection would see its own empty database.
        options["poolclass"] = StaticPool
    elif url.database and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        private_file(Path(url.database))  # the log and shared-memory files take its mode
    engine = create_engine(url, hide_parameters=True, json_serializer=_json, **options)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def create_storage_engine(url: str | URL) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        _require_psycopg()
    return create_engine(
        parsed,
        hide_parameters=True,
        pool_pre_ping=True,
        json_serializer=_json,
        # an unreachable server fails a connection in seconds instead of hanging the writer
        # (records wait in the spool meanwhile); a URL's own connect_timeout wins
        connect_args={} if "connect_timeout" in parsed.query else {"connect_timeout": 5},
    )


def _require_psycopg() -> None:
    """PostgreSQL's driver is the ``postgres`` extra: its absence is one error naming it."""
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "psycopg":
            raise
        raise MissingDependencyError(
            "a PostgreSQL database (ROLECALL_DATABASE_URL)", "psycopg", "postgres"
        ) from None


def _json(value: object) -> str:
    """orjson for JSON columns: several times faster than the stdlib encoder SQLAlchemy defaults to."""
    return orjson.dumps(value).decode()
