"""The shared-state tables on SQL: the change log, shared documents and background job runs.

`SqlChanges.append` writes notices in one transaction and, on PostgreSQL, sends a ``NOTIFY`` on
`NOTIFY_CHANNEL` in that same transaction, so a listener is woken exactly when the rows are
visible (PostgreSQL delivers notifications at commit). Readers page through the log by id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, NamedTuple

import orjson
from sqlalchemy import delete, func, select, text, update

from rolecall.storage.database import Database
from rolecall.storage.sql_cluster_tables import JOB_RUNS, SHARED_DOCS, STATE_CHANGES

__all__ = [
    "NOTIFY_CHANNEL",
    "Change",
    "JobRun",
    "SharedDoc",
    "SqlChanges",
    "SqlJobRuns",
    "SqlSharedDocs",
]

NOTIFY_CHANNEL: Final = "rolecall_changes"
PAGE: Final = 1000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Change(NamedTuple):
    """A notice that the state of ``kind`` (``key``: which part of it; "" for all) changed."""

    id: int
    kind: str
    key: str
    origin: str
    at_ms: int


class SqlChanges:
    """The append-only change log."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._postgres = db.engine.dialect.name == "postgresql"

    def append(self, notices: Iterable[tuple[str, str]], origin: str) -> None:
        """Log ``(kind, key)`` notices from ``origin`` in one transaction."""
        now = _now_ms()
        rows = [{"kind": k, "key": key, "origin": origin, "at_ms": now} for k, key in notices]
        if not rows:
            return
        with self._db.begin() as connection:
            connection.execute(STATE_CHANGES.insert(), rows)
            if self._postgres:
                connection.execute(
                    text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL}
                )

    def last_id(self) -> int:
        """The newest notice's id (0 when the log is empty)."""
        with self._db.read() as connection:
            return int(
                connection.execute(
                    select(func.coalesce(func.max(STATE_CHANGES.c.id), 0))
                ).scalar_one()
            )

    def since(self, after_id: int, limit: int = PAGE) -> list[Change]:
        """Notices newer than ``after_id``, oldest first, at most ``limit``."""
        columns = STATE_CHANGES.c
        query = (
            select(columns.id, columns.kind, columns.key, columns.origin, columns.at_ms)
            .where(columns.id > after_id)
            .order_by(columns.id)
            .limit(limit)
        )
        with self._db.read() as connection:
            return [Change(*row) for row in connection.execute(query)]

    def prune(self, before_ms: int) -> int:
        """Delete notices older than ``before_ms`` (every process read them long ago)."""
        with self._db.begin() as connection:
            result = connection.execute(
                delete(STATE_CHANGES).where(STATE_CHANGES.c.at_ms < before_ms)
            )
            return int(result.rowcount)


CHANGE_ATTEMPTS: Final = 20  # edits retried on another process's save before giving up


class SqlSharedDocs:
    """Small JSON documents every process routes on, each with a revision."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> tuple[dict[str, Any], int] | None:
        """The document and its revision, or None when it was never saved."""
        columns = SHARED_DOCS.c
        query = select(columns.body, columns.revision).where(columns.name == name)
        with self._db.read() as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        body = orjson.loads(row[0])
        return (body if isinstance(body, dict) else {}), int(row[1])

    def change(
        self, name: str, edit: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        """Read, edit and save the document as one step across processes: ``edit`` gets the
        stored document and returns the new one (None: no change). The save only goes in on the
        revision it read; when another process saved meanwhile, the edit runs again on theirs.
        The document saved, or None when ``edit`` changed nothing."""
        for _ in range(CHANGE_ATTEMPTS):
            found = self.get(name)
            body, revision = found if found is not None else ({}, 0)
            edited = edit(body)
            if edited is None:
                return None
            if self._put_at(name, edited, revision):
                return edited
        raise RuntimeError(f"shared document {name!r} kept changing; the edit was not saved")

    def _put_at(self, name: str, body: dict[str, Any], revision: int) -> bool:
        encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
        columns = SHARED_DOCS.c
        with self._db.begin() as connection:
            if revision == 0:  # never saved: whoever inserts first wins
                row = {"name": name, "body": encoded, "revision": 1, "updated_ms": _now_ms()}
                # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING
                statement = self._db.insert(SHARED_DOCS).on_conflict_do_nothing()
                inserted = connection.execute(statement.returning(columns.name), row).first()
                return inserted is not None
            done = connection.execute(
                update(SHARED_DOCS)
                .where((columns.name == name) & (columns.revision == revision))
                .values(body=encoded, revision=revision + 1, updated_ms=_now_ms())
            ).rowcount
            return bool(done)

    def put(self, name: str, body: dict[str, Any]) -> int:
        """Save the document; its new revision."""
        encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
        columns = SHARED_DOCS.c
        with self._db.begin() as connection:
            bumped = connection.execute(
                update(SHARED_DOCS)
                .where(columns.name == name)
                .values(body=encoded, revision=columns.revision + 1, updated_ms=_now_ms())
                .returning(columns.revision)
            ).scalar_one_or_none()
            if bumped is not None:
                return int(bumped)
            row = {"name": name, "body": encoded, "revision": 1, "updated_ms": _now_ms()}
            connection.execute(SHARED_DOCS.insert(), [row])
        return 1


class JobRun(NamedTuple):
    job: str
    owner: str
    ran_ms: int
    runs: int


class SqlJobRuns:
    """Which process last ran each background job."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ran(self, job: str, owner: str) -> None:
        columns = JOB_RUNS.c
        with self._db.begin() as connection:
            done = connection.execute(
                update(JOB_RUNS)
                .where(columns.job == job)
                .values(owner=owner, ran_ms=_now_ms(), runs=columns.runs + 1)
            ).rowcount
            if not done:
                row = {"job": job, "owner": owner, "ran_ms": _now_ms(), "runs": 1}
                connection.execute(JOB_RUNS.insert(), [row])

    def all(self) -> Sequence[JobRun]:
        columns = JOB_RUNS.c
        query = select(columns.job, columns.owner, columns.ran_ms, columns.runs).order_by(
            columns.job
        )
        with self._db.read() as connection:
            return [JobRun(*row) for row in connection.execute(query)]


class SharedDoc:
    """One shared document as a load/save store (the operator's `OverridesStore`);
    ``on_save`` runs after each save is committed (to notify the other processes)."""

    def __init__(
        self, docs: SqlSharedDocs, name: str, on_save: Callable[[], object] | None = None
    ) -> None:
        self._docs = docs
        self._name = name
        self._on_save = on_save

    def load(self) -> dict[str, Any]:
        found = self._docs.get(self._name)
        return {} if found is None else found[0]

    def save(self, data: dict[str, Any]) -> None:
        self._docs.put(self._name, data)
        if self._on_save is not None:
            self._on_save()

    def change(
        self, edit: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        """`SqlSharedDocs.change` of this document, then ``on_save`` when it changed."""
        saved = self._docs.change(self._name, edit)
        if saved is not None and self._on_save is not None:
            self._on_save()
        return saved
