"""Budget and rate-limit counters on SQL, for deployments without Redis (SQLite on one host,
PostgreSQL across processes and replicas): `SqlLimitCounters`, and `ThreadedLimitStore`, which
runs it off the event loop as a `rolecall.limits.ports.LimitStore`.

A reservation is one transaction. It makes sure every counter row it touches exists, then locks
them in name order (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the first write already
holds the database's write lock), so concurrent reservations of the same counters queue instead
of deadlocking; reads the amounts used; decides with the arithmetic every store shares; and adds
the charges, or nothing. A calendar window is one row. A rolling window is one row holding the
running sum of its log entries (one per reservation, in ``limit_log``): entries that left the
window are deleted and subtracted as the row is read, so a reservation costs the same however
many entries the window holds. Rows of windows that ended are deleted now and then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from rolecall.limits.charges import (
    applied_charges,
    calendar_retry_ms,
    decide,
    rolling_retry_ms,
    soonest,
)
from rolecall.limits.ports import (
    Charge,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import LIMIT_COUNTERS, LIMIT_LOG

__all__ = ["SqlLimitCounters", "ThreadedLimitStore"]

GRACE_MS: Final = 86_400_000  # a calendar counter outlives its window by a day (late settlements)
CLEANUP_EVERY_MS: Final = 60_000


class SqlLimitCounters:
    """The counters in ``limit_counters`` and ``limit_log`` (blocking calls)."""

    name: Final = "sql"

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cleaned_ms = 0

    def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        now = request.now_ms
        charges: dict[str, Charge] = {}
        for charge in (*request.common, *(c for alt in request.alternatives for c in alt)):
            charges.setdefault(charge.counter, charge)
        names = sorted(charges)
        with self._db.begin() as connection:
            used = self._lock_and_read(connection, [charges[name] for name in names], now)
            verdict = decide(request, used)
            if isinstance(verdict, list):
                refusals = [
                    self._refusal(connection, charge, used, alternative, now)
                    for charge, alternative in verdict
                ]
                return soonest(refusals)
            charged = applied_charges(request, verdict)
            self._add(connection, request.reservation_id, charged, now)
        self._maybe_clean(now)
        return Reservation(request.reservation_id, now, charged, verdict, self.name)

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        # in name order, the order reservations lock counters in; a rolling window's row
        # before its log entry, as reservations take them
        changed = sorted(
            (
                (charge, amount)
                for charge, amount in zip(reservation.charges, actual, strict=True)
                if amount != charge.amount
            ),
            key=lambda pair: pair[0].counter,
        )
        if not changed:
            return
        with self._db.begin() as connection:
            for charge, amount in changed:
                if charge.rolling and not self._settle_entry(
                    connection, charge, reservation.reservation_id, amount
                ):
                    continue  # the entry has left its window: nothing of it is counted
                _add_used(connection, charge.counter, amount - charge.amount)

    def _settle_entry(
        self, connection: Connection, charge: Charge, reservation_id: str, amount: int
    ) -> bool:
        """Set a rolling window's log entry to ``amount`` (delete it at 0); False if gone."""
        counters, log = LIMIT_COUNTERS.c, LIMIT_LOG.c
        head = select(counters.used).where(counters.counter == charge.counter)
        connection.execute(head.with_for_update())
        entry = (log.counter == charge.counter) & (log.reservation_id == reservation_id)
        if amount > 0:
            done = connection.execute(update(LIMIT_LOG).where(entry).values(amount=amount))
        else:
            done = connection.execute(delete(LIMIT_LOG).where(entry))
        return done.rowcount > 0

    def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        """Add amounts counted elsewhere to calendar counters (unchecked), in name order."""
        if not amounts:
            return
        rows = [
            {"counter": name, "used": amount, "expires_ms": reset_ms + GRACE_MS}
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
        # A rolling window's row only serialises its reservations: upserted (which locks it on
        # PostgreSQL) with a fresh expiry, so the cleanup never deletes one in use. A calendar
        # window's row is created once and expires with its window.
        rolling = [c for c in charges if c.rolling]
        calendar = [c for c in charges if not c.rolling]
        insert = self._db.insert(LIMIT_COUNTERS)
        if rolling:
            rows = [_row(c.counter, now + c.limit.window.window_ms) for c in rolling]
            refresh = {"expires_ms": insert.excluded.expires_ms}
            connection.execute(
                insert.on_conflict_do_update(index_elements=["counter"], set_=refresh), rows
            )
        if calendar:
            rows = [_row(c.counter, c.reset_ms + GRACE_MS) for c in calendar]
            connection.execute(insert.on_conflict_do_nothing(), rows)
        counters = LIMIT_COUNTERS.c
        locked = (
            select(counters.counter, counters.used)
            .where(counters.counter.in_([c.counter for c in charges]))
            .order_by(counters.counter)
            .with_for_update()
        )
        used = {name: int(amount) for name, amount in connection.execute(locked)}
        if rolling:
            self._prune(connection, rolling, used, now)
        return used

    def _prune(
        self, connection: Connection, charges: Sequence[Charge], used: dict[str, int], now: int
    ) -> None:
        """Drop the log entries that left each rolling window, and their amounts from its
        running sum (``used``, the row's, is updated to match)."""
        log = LIMIT_LOG.c
        for charge in charges:
            gone = (log.counter == charge.counter) & (
                log.at_ms <= now - charge.limit.window.window_ms
            )
            expired = connection.execute(
                select(func.coalesce(func.sum(log.amount), 0)).where(gone)
            ).scalar()
            if expired:
                connection.execute(delete(LIMIT_LOG).where(gone))
                _add_used(connection, charge.counter, -int(expired))
                used[charge.counter] = used.get(charge.counter, 0) - int(expired)

    def _add(
        self, connection: Connection, reservation_id: str, charges: Sequence[Charge], now: int
    ) -> None:
        entries = []
        for charge in charges:
            _add_used(connection, charge.counter, charge.amount)
            if charge.rolling:
                expires = now + charge.limit.window.window_ms
                entries.append(
                    {
                        "counter": charge.counter,
                        "reservation_id": reservation_id,
                        "at_ms": now,
                        "expires_ms": expires,
                        "amount": charge.amount,
                    }
                )
        if entries:
            connection.execute(LIMIT_LOG.insert(), entries)

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


def _add_used(connection: Connection, counter: str, amount: int) -> None:
    counters = LIMIT_COUNTERS.c
    statement = update(LIMIT_COUNTERS).where(counters.counter == counter)
    connection.execute(statement.values(used=counters.used + amount))


def _row(counter: str, expires_ms: int) -> dict[str, object]:
    return {"counter": counter, "used": 0, "expires_ms": expires_ms}


class ThreadedLimitStore:
    """`SqlLimitCounters` as an async `LimitStore`: each call runs on a small pool of threads of
    its own, never on the event loop; a database error is `LimitStoreError`."""

    name: Final = "sql"

    def __init__(self, counters: SqlLimitCounters, *, threads: int = 4) -> None:
        self.counters = counters
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rolecall-limits")

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self.counters.reserve, request)
        except (SQLAlchemyError, OSError) as exc:
            raise LimitStoreError(f"sql: {type(exc).__name__}") from exc

    async def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self.counters.settle, reservation, actual)
        except (SQLAlchemyError, OSError) as exc:
            raise LimitStoreError(f"sql: {type(exc).__name__}") from exc

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self.counters.absorb, amounts)
        except (SQLAlchemyError, OSError) as exc:
            raise LimitStoreError(f"sql: {type(exc).__name__}") from exc

    async def close(self) -> None:
        self._pool.shutdown(wait=True)
