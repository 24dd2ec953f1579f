"""The engine every SQL store shares: transactions, batches and portable inserts and upserts.

Owns `Database` (what every per-concern store is built over) and `artifact_rows` (artifact → row
of index columns plus the whole artifact). Upserts use ``INSERT ... ON CONFLICT``, which SQLite and
PostgreSQL spell the same way, so the one Core statement serves both; only the ``insert``
construct is taken from the connected dialect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, Literal

import orjson
from sqlalchemy import JSON, Connection, Engine, Select, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["IN_CHUNK", "Database", "artifact_rows", "paged"]

IN_CHUNK: Final = 500  # ids per IN (...) list: SQLite caps a statement's parameters

Row = dict[str, Any]
DialectInsert = sqlite.Insert | postgresql.Insert


Artifact = dict[str, Any]  # a protocol artifact as stored (JSON)


def artifact_rows(
    artifacts: Sequence[Mapping[str, Any]], columns: Mapping[str, str], *, kind: str
) -> list[Row]:
    """One row per artifact: ``columns`` (column → artifact key) plus the artifact itself.

    Raises `ValueError` naming the artifact kind and key when a key used as a column is missing.
    """
    rows = []
    for artifact in artifacts:
        row: Row = {"artifact": dict(artifact)}
        for column, key in columns.items():
            if key not in artifact:
                raise ValueError(f"{kind}: missing {key!r}, which storage indexes")
            row[column] = artifact[key]
        rows.append(row)
    return rows


def _driver_row(
    row: Row, order: tuple[str, ...] | None, json_columns: frozenset[str]
) -> tuple[Any, ...] | dict[str, Any]:
    if json_columns:
        row = {k: orjson.dumps(v).decode() if k in json_columns else v for k, v in row.items()}
    return row if order is None else tuple(row[name] for name in order)


class _OpenBatch(threading.local):
    """This thread's open batch transaction, if any."""

    connection: Connection | None = None


class Database:
    """The engine and the statement helpers shared by every SQL store; a `batch` opened on one
    thread spans every store's writes on that thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._driver_sql_cache: dict[
            tuple[object, ...], tuple[str, tuple[str, ...] | None, frozenset[str]]
        ] = {}
        self._batch = _OpenBatch()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations, diagnostics and tests)."""
        return self._engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction: committed on success, rolled back on any error.

        Inside `batch` (on the same thread) the batch's transaction is used instead.
        """
        current = self._batch.connection
        if current is not None:
            yield current
            return
        with self._engine.begin() as connection:
            yield connection

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run several writes in one transaction: all of them commit, or none does."""
        if self._batch.connection is not None:
            yield  # already inside a batch on this thread
            return
        with self._engine.begin() as connection:
            self._batch.connection = connection
            try:
                yield
            finally:
                self._batch.connection = None

    def rows_in(
        self, query_of: Callable[[Sequence[str]], Select[Any]], ids: Sequence[str]
    ) -> list[Any]:
        """The rows of ``query_of(chunk)`` for ``ids`` a chunk at a time (SQLite caps how many
        parameters a statement takes), inside the open transaction if there is one."""
        rows: list[Any] = []
        if not ids:
            return rows
        with self.begin() as connection:
            for start in range(0, len(ids), IN_CHUNK):
                rows.extend(connection.execute(query_of(ids[start : start + IN_CHUNK])))
        return rows

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            yield connection

    def artifacts(self, query: Select[Any], *, limit: int, offset: int) -> list[Artifact]:
        """One page of a query that selects a JSON artifact column, as plain dicts."""
        with self.read() as connection:
            rows = connection.execute(paged(query, limit, offset)).scalars()
            return [dict(artifact) for artifact in rows]

    def insert(self, table: Table) -> DialectInsert:
        """The dialect's ``INSERT`` construct, which knows ``ON CONFLICT``."""
        name = self._engine.dialect.name
        if name == "sqlite":
            return sqlite.insert(table)
        if name == "postgresql":
            return postgresql.insert(table)
        raise NotImplementedError(f"storage supports sqlite and postgresql, not {name!r}")

    def upsert(self, table: Table, rows: Sequence[Row], *, key: Sequence[str]) -> None:
        """Insert ``rows``, replacing every non-key column of rows whose ``key`` already exists."""
        self._write_rows(table, rows, on_conflict="update", key=tuple(key))

    def insert_new(self, table: Table, rows: Sequence[Row]) -> int:
        """Insert ``rows``, silently keeping any row whose primary key is already stored; how
        many were inserted.

        This makes re-delivery (a retried batch, a replayed telemetry file) harmless.
        """
        return self._write_rows(table, rows, on_conflict="nothing")

    def insert_rows(self, table: Table, rows: Sequence[Row]) -> None:
        """Insert ``rows`` (a conflict is an error)."""
        self._write_rows(table, rows, on_conflict=None)

    def _write_rows(
        self,
        table: Table,
        rows: Sequence[Row],
        *,
        on_conflict: Literal["update", "nothing"] | None,
        key: tuple[str, ...] = (),
    ) -> int:
        """Run the insert straight on the driver, without SQLAlchemy's per-row parameter
        processing (docs/performance.md). Every row has the first row's keys."""
        if not rows:
            return 0
        sql, names, json_columns = self._driver_sql(table, tuple(rows[0]), on_conflict, key)
        params = [_driver_row(row, names, json_columns) for row in rows]
        with self.begin() as connection:
            return int(connection.exec_driver_sql(sql, params).rowcount)

    def _driver_sql(
        self,
        table: Table,
        columns: tuple[str, ...],
        on_conflict: Literal["update", "nothing"] | None,
        key: tuple[str, ...],
    ) -> tuple[str, tuple[str, ...] | None, frozenset[str]]:
        """The driver's SQL of an insert (compiled once per table, columns and conflict rule), the
        parameter order (None: named parameters) and the JSON columns, which the driver gets as
        orjson text."""
        cache_key = (table.name, columns, on_conflict, key)
        found = self._driver_sql_cache.get(cache_key)
        if found is None:
            insert = self.insert(table)
            statement: DialectInsert = insert
            if on_conflict == "nothing":
                statement = insert.on_conflict_do_nothing()
            elif on_conflict == "update":
                updated = {name: insert.excluded[name] for name in columns if name not in key}
                statement = insert.on_conflict_do_update(index_elements=list(key), set_=updated)
            compiled = statement.values({name: bindparam(name) for name in columns}).compile(
                dialect=self._engine.dialect
            )
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            json_columns = frozenset(
                name for name in columns if isinstance(table.c[name].type, JSON)
            )
            found = self._driver_sql_cache[cache_key] = (str(compiled), order, json_columns)
        return found


def paged(query: Select[Any], limit: int, offset: int) -> Select[Any]:
    """``query`` limited to one page; `ValueError` for a negative limit or offset."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be non-negative, got {limit} and {offset}")
    return query.limit(limit).offset(offset)
