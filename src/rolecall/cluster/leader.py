"""Leader election for background work that must run once across all gateway processes.

`Leadership` runs registered jobs (`every`) only while this process holds the lock: a PostgreSQL
session advisory lock on a connection of its own (released by the server the moment that
connection dies — a killed or partitioned replica loses it, and another takes it at its next
try), or, on SQLite (one host), an exclusive ``flock`` on a file in the data directory (released
by the kernel when the process dies). Every `TICK_S` a follower tries to take the lock and the
leader checks it still holds it; a leader that cannot tell stops its jobs at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from rolecall.storage.changes import SqlJobRuns

if TYPE_CHECKING:
    import psycopg  # the postgres extra; imported when a PostgresLock is built

__all__ = ["FileLock", "Job", "LeaderLock", "Leadership", "PostgresLock"]

log = logging.getLogger("rolecall.cluster")

TICK_S: Final = 1.0


class LeaderLock(Protocol):
    def try_hold(self) -> bool:
        """Take the lock, or confirm it is still held; False when another process has it or
        this one can no longer tell."""
        ...

    def release(self) -> None: ...


class FileLock:
    """An exclusive ``flock`` on ``path``: one leader among the processes of one host."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def try_hold(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock


class PostgresLock:
    """``pg_try_advisory_lock`` held on a dedicated connection."""

    def __init__(self, url: str, name: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._url = url
        self._name = name
        self._key = 0
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """The lock's connection; the lock is keyed by the schema too (advisory locks are
        database-wide, and two deployments may share a database in separate schemas)."""
        connection = self._psycopg.connect(self._url, autocommit=True, connect_timeout=5)
        row = connection.execute("SELECT current_schema()").fetchone()
        scope = f"{self._name}\0{row[0] if row else ''}".encode()
        self._key = int.from_bytes(hashlib.sha256(scope).digest()[:8], "big", signed=True)
        return connection

    def try_hold(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._held = False
                self._connection = self._connect()
            if self._held:
                self._connection.execute("SELECT 1")  # still connected: still ours
                return True
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (self._key,)
            ).fetchone()
            self._held = bool(row and row[0])
        except self._psycopg.Error as exc:
            log.debug("leader lock: %s", exc)
            self.release()
            return False
        return self._held

    def release(self) -> None:
        connection, self._connection = self._connection, None
        self._held = False
        if connection is not None:
            with contextlib.suppress(self._psycopg.Error):
                connection.close()  # the session's advisory locks go with it


@dataclass(slots=True)
class Job:
    name: str
    interval_s: float
    run: Callable[[], object]
    next_at: float = 0.0


class Leadership:
    """This process's place in the election, and the jobs it runs while leader."""

    def __init__(
        self, lock: LeaderLock, runs: SqlJobRuns, *, owner: str, tick_s: float = TICK_S
    ) -> None:
        self.owner = owner
        self._lock = lock
        self._runs = runs
        self._tick_s = tick_s
        self._jobs: list[Job] = []
        self._leader = False
        self._since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leader(self) -> bool:
        return self._leader

    def every(self, name: str, interval_s: float, run: Callable[[], object]) -> None:
        """Run ``run`` every ``interval_s`` seconds while this process leads (first at once)."""
        self._jobs.append(Job(name, interval_s, run))

    def status(self) -> dict[str, object]:
        out: dict[str, object] = {"leader": self._leader, "jobs": [j.name for j in self._jobs]}
        if self._since is not None:
            out["leader_for_s"] = round(time.monotonic() - self._since, 1)
        return out

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rolecall-leader", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._lock.release()
        self._leader = False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self._tick_s)

    def tick(self) -> None:
        """One round: take or confirm the lock, then run the jobs that are due."""
        try:
            holds = self._lock.try_hold()
        except OSError as exc:  # a lock file that cannot be opened
            log.warning("leader lock unavailable: %s", exc)
            holds = False
        if holds != self._leader:
            self._leader = holds
            self._since = time.monotonic() if holds else None
            log.info("%s background work on this process", "leading" if holds else "not leading")
            for job in self._jobs:
                job.next_at = 0.0  # a new leader runs everything once at once
        if holds:
            self._run_due()

    def _run_due(self) -> None:
        now = time.monotonic()
        for job in self._jobs:
            if now < job.next_at or self._stop.is_set():
                continue
            job.next_at = now + job.interval_s
            try:
                job.run()
                self._runs.ran(job.name, self.owner)
            except Exception:  # one failing job never stops the others
                log.exception("background job %s failed", job.name)
