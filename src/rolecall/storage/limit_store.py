"""`ThreadedLimitStore`: the SQL counters (`rolecall.storage.limit_counters`) as the async
`rolecall.limits.ports.LimitStore` the serving loop calls.

Every call runs on threads of its own, never on the event loop: one on SQLite (which takes one
writer at a time anyway: a second thread would only wait in SQLite's busy handler, which sleeps
in whole milliseconds), a few on PostgreSQL. Settlements are queued and carried by the next
reservation's transaction, or applied together after `SETTLE_DELAY_S` when none comes, so under
load a request costs one transaction, not two. A database error is `LimitStoreError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from rolecall.limits.ports import LimitStoreError, Refusal, Reservation, ReserveRequest
from rolecall.storage.limit_counters import Settlement, SqlLimitCounters

__all__ = ["SETTLE_DELAY_S", "ThreadedLimitStore"]

log = logging.getLogger("rolecall.limits")
SETTLE_DELAY_S: Final = 0.02
POSTGRES_THREADS: Final = 4
_FAILURES: Final = (SQLAlchemyError, OSError)


class ThreadedLimitStore:
    name: Final = "sql"

    def __init__(self, counters: SqlLimitCounters, *, threads: int | None = None) -> None:
        self.counters = counters
        count = threads or (1 if counters.sqlite else POSTGRES_THREADS)
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="rolecall-limits")
        self._queued: list[Settlement] = []
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Future[None]] = set()

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        settlements = self._take()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._pool, self.counters.reserve, request, settlements
            )
        except _FAILURES as exc:
            raise LimitStoreError(f"sql: {type(exc).__name__}") from exc

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        """Queue the settlement for the next transaction (within `SETTLE_DELAY_S`)."""
        self._queued.append((reservation, actual))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(SETTLE_DELAY_S, self._settle_now)

    def _take(self) -> list[Settlement]:
        queued, self._queued = self._queued, []
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        return queued

    def _settle_now(self) -> None:
        self._flush = None
        queued = self._take()
        if not queued:
            return
        now = time.time_ns() // 1_000_000
        future = asyncio.get_running_loop().run_in_executor(
            self._pool, self.counters.settle, queued, now
        )
        self._flushing.add(future)
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[None]) -> None:
        self._flushing.discard(future)
        if not future.cancelled() and future.exception() is not None:
            # the reservations stay counted at their estimates until their windows end
            log.warning("limits: settlements not stored (%s)", future.exception())

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self.counters.absorb, amounts)
        except _FAILURES as exc:
            raise LimitStoreError(f"sql: {type(exc).__name__}") from exc

    async def close(self) -> None:
        self._settle_now()
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        self._pool.shutdown(wait=True)
        self.counters.close()
