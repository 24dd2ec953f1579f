"""Budget and rate-limit counters on SQL, for deployments without Redis (SQLite on one host,
PostgreSQL across processes and replicas): `SqlLimitCounters` (blocking calls; the serving loop
reaches it through `rolecall.storage.limit_store.ThreadedLimitStore`).

One transaction does what a request needs: the settlements this process has queued (so they
never cost a transaction of their own under load), then the reservation. It upserts every counter
row it touches in name order, which creates a missing row and locks it on PostgreSQL (on SQLite
the first write already holds the database's write lock), so concurrent transactions on the same
counters queue instead of deadlocking; the upsert returns what each counter has used. Then the
arithmetic every store shares decides, and one statement adds the charges — or nothing is added.

A calendar window is one row. A rolling window is one row holding the running sum of its log
entries (one per reservation, in ``limit_log``): entries that left the window are deleted and
subtracted as the row is read, so a reservation costs the same however many entries the window
holds. Rows of windows that ended are deleted now and then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import DBAPIError

from rolecall.limits.charges import (
    applied_charges,
    calendar_retry_ms,
    decide,
    rolling_retry_ms,
    soonest,
)
from rolecall.limits.ports import Charge, Refusal, Reservation, ReserveRequest
from rolecall.storage.database import Database
from rolecall.storage.limit_sql import LimitSql
from rolecall.storage.sql_tables import LIMIT_COUNTERS, LIMIT_LOG

__all__ = ["GRACE_MS", "Settlement", "SqlLimitCounters"]

GRACE_MS: Final = 86_400_000  # a calendar counter outlives its window by a day (late settlements)
CLEANUP_EVERY_MS: Final = 60_000

Settlement = tuple[Reservation, Sequence[int]]  # a reservation and each charge's actual amount


class SqlLimitCounters:
    """The counters in ``limit_counters`` and ``limit_log``."""

    name: Final = "sql"

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cleaned_ms = 0
        self._sql = LimitSql("?" if self.sqlite else "%s")
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()

    @property
    def sqlite(self) -> bool:
        return self._db.engine.dialect.name == "sqlite"

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on this thread's own connection, kept open between calls (no pool
        checkout and liveness ping per request); a connection that failed is dropped."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._local.connection = self._connect()
        try:
            with connection.begin():
                yield connection
        except DBAPIError:
            self._local.connection = None
            with self._lock:
                if connection in self._opened:
                    self._opened.remove(connection)
            connection.close()
            raise

    def _connect(self) -> Connection:
        connection = self._db.engine.connect()
        if not self.sqlite:
            # A crash of the PostgreSQL server may lose the last fraction of a second of
            # counter changes; each reservation then waits for no disk flush
            connection.exec_driver_sql("SET synchronous_commit TO off")
            connection.commit()
        with self._lock:
            self._opened.append(connection)
        return connection

    def close(self) -> None:
        """Close every thread's connection (once the threads are done with them)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def reserve(
        self, request: ReserveRequest, settlements: Sequence[Settlement] = ()
    ) -> Reservation | Refusal:
        """Apply ``settlements``, then reserve ``request`` (all-or-nothing), in one transaction."""
        now = request.now_ms
        changes = _changes(settlements)
        charges: dict[str, Charge] = {c.counter: c for c, _, _ in changes}
        for charge in (*request.common, *(c for alt in request.alternatives for c in alt)):
            charges[charge.counter] = charge
        with self._transaction() as connection:
            used = self._lock_and_read(connection, [charges[n] for n in sorted(charges)], now)
            deltas = self._settle(connection, changes)
            for counter, amount in self._prune(connection, request, now).items():
                deltas[counter] = deltas.get(counter, 0) - amount
            for counter, amount in deltas.items():
                used[counter] += amount
            verdict = decide(request, used)
            if isinstance(verdict, list):
                self._add_used(connection, deltas)
                return soonest([self._refusal(connection, c, used, alt, now) for c, alt in verdict])
            charged = applied_charges(request, verdict)
            for charge in charged:
                deltas[charge.counter] = deltas.get(charge.counter, 0) + charge.amount
            self._add_used(connection, deltas)
            self._log(connection, request.reservation_id, charged, now)
        self._maybe_clean(now)
        return Reservation(request.reservation_id, now, charged, verdict, self.name)

    def settle(self, settlements: Sequence[Settlement], now_ms: int) -> None:
        """Apply ``settlements`` alone (when no reservation comes to carry them)."""
        changes = _changes(settlements)
        if not changes:
            return
        charges = {c.counter: c for c, _, _ in changes}
        with self._transaction() as connection:
            self._lock_and_read(connection, [charges[n] for n in sorted(charges)], now_ms)
            self._add_used(connection, self._settle(connection, changes))

    def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        """Add amounts counted elsewhere to calendar counters (unchecked), in name order."""
        if not amounts:
            return
        rows = [
            _row(name, reset_ms + GRACE_MS, used=amount)
            for name, (amount, reset_ms) in sorted(amounts.items())
        ]
        insert = self._db.insert(LIMIT_COUNTERS)
        added = {"used": LIMIT_COUNTERS.c.used + insert.excluded.used}
        with self._db.begin() as connection:
            connection.execute(
                insert.on_conflict_do_update(index_elements=["counter"], set_=added), rows
            )

    def clean(self, now_ms: int) -> None:
        """Delete the rows of windows that ended, and the log entries of rolling windows whose
        row is gone (a live row's entries leave through its reservations, which subtract them
        from its running sum)."""
        counters, log = LIMIT_COUNTERS.c, LIMIT_LOG.c
        orphaned = ~select(counters.counter).where(counters.counter == log.counter).exists()
        with self._db.begin() as connection:
            connection.execute(delete(LIMIT_COUNTERS).where(counters.expires_ms < now_ms))
            connection.execute(delete(LIMIT_LOG).where(log.expires_ms < now_ms, orphaned))

    def _lock_and_read(
        self, connection: Connection, charges: Sequence[Charge], now: int
    ) -> dict[str, int]:
        """Make sure each counter's row exists and lock them, in the given (name) order, reading
        what each has used: one upsert that returns the rows. A rolling window's row gets a
        fresh expiry, so the cleanup never deletes one in use; a calendar window's keeps the
        end of its window."""
        rows = [
            (c.counter, now + c.limit.window.window_ms if c.rolling else c.reset_ms + GRACE_MS)
            for c in charges
        ]
        return self._sql.upsert_counters(connection, rows)

    def _settle(
        self, connection: Connection, changes: Sequence[tuple[Charge, str, int]]
    ) -> dict[str, int]:
        """Each settled counter's change; a rolling window's entry is rewritten (deleted at 0)
        and counts only while it is still in the window."""
        deltas: dict[str, int] = {}
        for charge, reservation_id, amount in changes:
            if charge.rolling and not self._sql.set_entry(
                connection, charge.counter, reservation_id, amount
            ):
                continue  # the entry has left its window: nothing of it is counted
            deltas[charge.counter] = deltas.get(charge.counter, 0) + amount - charge.amount
        return deltas

    def _prune(self, connection: Connection, request: ReserveRequest, now: int) -> dict[str, int]:
        """Delete the log entries that left each rolling window of the request; what they held,
        per counter (to subtract from the running sums)."""
        every = (*request.common, *(c for alt in request.alternatives for c in alt))
        rolling = {c.counter: c for c in every if c.rolling}
        if not rolling:
            return {}
        cuts = [(name, now - c.limit.window.window_ms) for name, c in rolling.items()]
        expired: dict[str, int] = {}
        for name, amount in self._sql.prune(connection, cuts):
            expired[name] = expired.get(name, 0) + amount
        return expired

    def _add_used(self, connection: Connection, deltas: Mapping[str, int]) -> None:
        """Add each amount to its counter's ``used``, in one statement."""
        changed = {name: amount for name, amount in deltas.items() if amount}
        if changed:
            self._sql.add_used(connection, changed)

    def _log(
        self, connection: Connection, reservation_id: str, charges: Sequence[Charge], now: int
    ) -> None:
        entries = [
            (c.counter, reservation_id, now, now + c.limit.window.window_ms, c.amount)
            for c in charges
            if c.rolling
        ]
        if entries:
            self._sql.insert_log(connection, entries)

    def _refusal(
        self,
        connection: Connection,
        charge: Charge,
        used: dict[str, int],
        alternative: int | None,
        now: int,
    ) -> Refusal:
        already = used.get(charge.counter, 0)
        if not charge.rolling:
            return Refusal(charge, already, calendar_retry_ms(charge, now), alternative)
        log = LIMIT_LOG.c
        query = (
            select(log.at_ms, log.amount)
            .where(log.counter == charge.counter)
            .order_by(log.at_ms, log.reservation_id)
        )
        entries = [(int(at), int(amount)) for at, amount in connection.execute(query)]
        retry = rolling_retry_ms(charge, already, entries, now)
        return Refusal(charge, already, retry, alternative)

    def _maybe_clean(self, now: int) -> None:
        if now - self._cleaned_ms >= CLEANUP_EVERY_MS:
            self._cleaned_ms = now
            self.clean(now)


def _changes(settlements: Sequence[Settlement]) -> list[tuple[Charge, str, int]]:
    """(charge, reservation id, actual amount) of every charge whose amount changes."""
    return [
        (charge, reservation.reservation_id, amount)
        for reservation, actual in settlements
        for charge, amount in zip(reservation.charges, actual, strict=True)
        if amount != charge.amount
    ]


def _row(counter: str, expires_ms: int, *, used: int = 0) -> dict[str, object]:
    return {"counter": counter, "used": used, "expires_ms": expires_ms}
