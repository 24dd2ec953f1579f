"""`Node`: this process as one member of the gateway — its change feed and its leadership.

Built once by the composition root for every process that opens the store (gateway workers,
replicas, the CLI): the feed carries notices both ways, the leadership runs the background work
that must run once (`Leadership.every`). What each notice means — which state to re-read — is
wired by the composition root, which knows the routing state, the operator and the key cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rolecall.cluster.changes import ChangeFeed, process_origin
from rolecall.cluster.leader import FileLock, LeaderLock, Leadership, PostgresLock
from rolecall.cluster.wakers import RedisWaker, libpq_url, waker_for
from rolecall.storage.sql import SqlStorage

__all__ = ["CHANGES_KEPT_S", "RETENTION_EVERY_S", "Node", "announce", "build_node"]

CHANGES_KEPT_S: Final = 3600.0  # notices older than this are pruned (every reader is long past)
RETENTION_EVERY_S: Final = 60.0
LEADER_LOCK: Final = "rolecall-background-work"


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    origin: str
    feed: ChangeFeed
    leadership: Leadership

    def start(self) -> None:
        self.feed.start()
        self.leadership.start()

    def stop(self) -> None:
        self.leadership.stop()
        self.feed.stop()

    def status(self) -> dict[str, object]:
        return {"origin": self.origin, "changes": self.feed.status(), **self.leadership.status()}


def build_node(
    storage: SqlStorage, database_url: str, redis_url: str | None, data_dir: Path
) -> Node:
    """This process's feed (pushed through Redis or PostgreSQL when there is one) and its place in
    the election (a PostgreSQL advisory lock, or a lock file for one host on SQLite)."""
    origin = process_origin()
    feed = ChangeFeed(storage.changes, waker_for(database_url, redis_url), origin=origin)
    lock: LeaderLock
    if database_url.startswith("postgresql"):
        lock = PostgresLock(libpq_url(database_url), LEADER_LOCK)
    else:
        lock = FileLock(data_dir / "leader.lock")
    leadership = Leadership(lock, storage.job_runs, owner=origin)

    def prune_changes() -> None:
        storage.changes.prune(time.time_ns() // 1_000_000 - int(CHANGES_KEPT_S * 1000))

    leadership.every("prune-change-log", RETENTION_EVERY_S, prune_changes)
    return Node(origin, feed, leadership)


def announce(storage: SqlStorage, redis_url: str | None, kind: str, key: str = "") -> None:
    """Publish one notice from a process that does not serve (a CLI command): logged in the
    database, and pushed through Redis when configured (PostgreSQL's NOTIFY goes with the log)."""
    storage.changes.append([(kind, key)], process_origin())
    if redis_url:
        waker = RedisWaker(redis_url)
        try:
            waker.notify()
        finally:
            waker.close()
