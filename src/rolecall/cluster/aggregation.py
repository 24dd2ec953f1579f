"""Which record writer aggregates live profiles: one at a time across every process on the
database, elected like the rest of the background work (`rolecall.cluster.leader`).

Every writer stores the records its gateways send. A writer that does not lead only tells the
leader which endpoints it stored samples of (a `LIVE_SAMPLES` notice, at most once a second per
endpoint); the leader reads those notices (and the `SAMPLES` notices of benchmarks) and re-reads
the endpoints' windows from storage, so the one profile it stores counts every replica's traffic.
The profiles it stores reach every gateway as `PROFILE` notices, published by the gateway that
receives them. Built inside the writer process by `writer_aggregation`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from rolecall.cluster.changes import ChangeFeed, process_origin
from rolecall.cluster.leader import FileLock, LeaderLock, PostgresLock
from rolecall.cluster.sharing import LIVE_SAMPLES, SAMPLES
from rolecall.cluster.wakers import SleepWaker, libpq_url
from rolecall.storage.sql import SqlStorage, open_storage

__all__ = ["WriterAggregation", "writer_aggregation"]

CHECK_S: Final = 1.0  # how often the lock is re-checked, and notices read or sent per endpoint
LOCK_NAME: Final = "rolecall-profile-aggregation"


class WriterAggregation:
    """A record writer's place in the aggregation election (`rolecall.observe.ports.Aggregation`)."""

    def __init__(self, lock: LeaderLock, storage: SqlStorage, *, check_s: float = CHECK_S) -> None:
        self._lock = lock
        self._storage = storage
        self._feed = ChangeFeed(storage.changes, SleepWaker(), origin=process_origin())
        self._feed.subscribe(LIVE_SAMPLES, self._collect)
        self._feed.subscribe(SAMPLES, self._collect)
        self._check_s = check_s
        self._leading = False
        self._gained = False
        self._checked = -1e9
        self._read = -1e9
        self._changed: dict[str, None] = {}
        self._told: dict[str, float] = {}

    def leading(self) -> bool:
        now = time.monotonic()
        if now - self._checked >= self._check_s:
            self._checked = now
            try:
                holds = self._lock.try_hold()
            except OSError:
                holds = False
            if holds and not self._leading:
                self._gained = True
                self._feed.skip_past()  # notices from now on; the windows are read afresh
            self._leading = holds
        return self._leading

    def gained(self) -> bool:
        gained, self._gained = self._gained, False
        return gained

    def stored_elsewhere(self) -> list[str]:
        now = time.monotonic()
        if now - self._read >= self._check_s:
            self._read = now
            try:
                self._feed.read_now()
            except Exception:  # the database is down: the next read catches up
                return []
        changed = list(self._changed)
        self._changed.clear()
        return changed

    def stored_here(self, endpoint_ids: Iterable[str]) -> None:
        now = time.monotonic()
        for endpoint_id in endpoint_ids:
            if now - self._told.get(endpoint_id, -1e9) >= self._check_s:
                self._told[endpoint_id] = now
                self._feed.publish(LIVE_SAMPLES, endpoint_id)

    def close(self) -> None:
        self._feed.stop()
        self._lock.release()
        self._storage.close()

    def _collect(self, endpoint_ids: list[str]) -> None:
        self._changed.update(dict.fromkeys(endpoint_ids))


class _Alone:
    """The one lock holder there can be: a writer with no data directory to share (its
    database is its own)."""

    def try_hold(self) -> bool:
        return True

    def release(self) -> None:
        """Nothing is held."""


def writer_aggregation(url: str, spool_dir: Path | None) -> WriterAggregation:
    """(In the writer process.) The election on this database: a PostgreSQL advisory lock, or a
    lock file in the data directory (beside the spool) on SQLite."""
    lock: LeaderLock
    if url.startswith("postgresql"):
        lock = PostgresLock(libpq_url(url), LOCK_NAME)
    elif spool_dir is not None:
        lock = FileLock(spool_dir.parent / "aggregator.lock")
    else:
        lock = _Alone()
    return WriterAggregation(lock, open_storage(url, migrate=False))
